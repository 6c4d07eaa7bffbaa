"""Connectionist temporal classification, matching ``torch.nn.functional.ctc_loss`` (torch 2.13).

The forward (alpha) recursion runs in log space over the extended label sequence, batched over
the sequences, with one native loop over time (:func:`lossbridge.backends._loops.fold`); the
gradient is the caller's autodiff through it. torch and TensorFlow run their own CTC kernels
instead where they give the same value and gradient (:mod:`lossbridge.backends._ctc_ops`).
"""

from __future__ import annotations

import numbers
from typing import Any

from lossbridge._inputs import arange_on
from lossbridge._precision import half_precision
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_array_like,
    check_denominator,
    check_floating,
    check_integer,
    check_reduction,
    shape_str,
)
from lossbridge.backends import (
    asarray_on,
    eager_view,
    get_namespace,
    is_concrete,
    stop_gradient,
    take_along_axis,
)
from lossbridge.backends._loops import fold

__all__ = ["ctc_loss"]

_NAMES = ("log_probs", "targets", "input_lengths", "target_lengths")


@half_precision
def ctc_loss(
    log_probs: ArrayT,
    targets: ArrayLike,
    input_lengths: ArrayLike,
    target_lengths: ArrayLike,
    blank: int = 0,
    reduction: Reduction = "mean",
    zero_infinity: bool = False,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Connectionist temporal classification loss (Graves et al., 2006).

    Same name, parameters, defaults and numbers as ``torch.nn.functional.ctc_loss``
    (torch 2.13). For one sequence with per-frame probabilities
    :math:`y^t_k = e^{\texttt{log\_probs}[t, n, k]}` over its first :math:`T_n` frames (the
    input length) and target :math:`\mathbf{l}` of length :math:`S_n`,

    .. math::

        \ell_n = -\log \sum_{\pi \in \mathcal{B}^{-1}(\mathbf{l})}
                  \prod_{t=1}^{T_n} y^t_{\pi_t},

    where :math:`\mathcal{B}` maps a frame-level path to a label sequence by merging repeated
    symbols and then removing blanks. The sum is computed by the forward recursion over the
    extended sequence :math:`\mathbf{l}'` (a blank before, between and after the labels,
    length :math:`2S_n + 1`):

    .. math::

        \alpha_t(s) = y^t_{l'_s} \Big[\alpha_{t-1}(s) + \alpha_{t-1}(s-1)
            + [\,l'_s \ne l'_{s-2}\,]\, \alpha_{t-1}(s-2)\Big],
        \qquad
        \ell_n = -\log\big(\alpha_{T_n}(2S_n) + \alpha_{T_n}(2S_n - 1)\big),

    started from :math:`\alpha_0(0) = 1` (before the first frame) and evaluated in log space
    with a max-shifted log-sum-exp. The skip term is allowed exactly when torch allows it
    (:math:`l'_s \ne l'_{s-2}`), so two equal labels in a row need a blank between them.

    Parameters
    ----------
    log_probs : array, shape (T, N, C) or (T, C)
        Log-probabilities (usually ``log_softmax`` over the last axis), **time-major**:
        ``T`` frames, ``N`` sequences, ``C`` classes including the blank. Not renormalised:
        the loss is the negative log of the sum over alignments of the given values.
    targets : integer array, shape (N, S) or (sum(target_lengths),)
        Padded: row ``n`` holds sequence ``n``'s labels in its first ``target_lengths[n]``
        entries (the rest is ignored, any value). Concatenated (1-D, batched input only): the
        labels of all sequences one after another. Unbatched input takes shape (S,).
        Labels must be in ``[0, C)``; a label equal to ``blank`` is computed as torch does
        (it is not rejected, but it cannot be told apart from a blank in the alignment).
    input_lengths : integer array, list or tuple of ints, shape (N,)
        Frames used for each sequence, ``0 <= input_lengths[n] <= T``. A Python int, or an
        array of shape () or (1,), for unbatched input. Arrays of ``log_probs``' framework on
        another device (CPU lengths with CUDA ``log_probs``, as torch allows) are moved; the
        same holds for ``targets`` and ``target_lengths``.
    target_lengths : integer array, list or tuple of ints, shape (N,)
        Labels of each sequence, ``0 <= target_lengths[n] <= S`` (padded targets). A target
        length of 0 is allowed: the loss is then :math:`-\sum_t \log y^t_{\text{blank}}`.
    blank : int, default 0
        The blank class, in ``[0, C)``.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        ``'mean'`` divides each sequence's loss by its target length clamped to at least 1,
        then averages over the batch (torch's definition, not the plain batch mean).
    zero_infinity : bool, default False
        Replace infinite losses (no alignment fits in the input length, e.g. fewer frames than
        labels plus the blanks that repeated labels need) and their gradients by zero.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        batch size N: the numerator is the sum of each sequence's loss divided by its target length
        clamped to at least 1. Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the loss of each sequence, shape (N,) (shape ()
        for unbatched input). The dtype and device of ``log_probs``.

    Raises
    ------
    TypeError
        ``log_probs`` not floating; ``targets`` or a length array not integer (torch casts
        floating targets silently; here they are refused); ``blank`` not an int.
    ValueError
        A wrong shape; ``blank`` outside ``[0, C)``; and, where the values are concrete (not
        while ``jax.jit``, ``tf.function`` or ``torch.compile`` traces the call), a length
        below 0 or above ``T`` / ``S``, concatenated targets whose size is not
        ``sum(target_lengths)``, or a label outside ``[0, C)``.

    Notes
    -----
    *Infeasible sequences.* With too few frames the loss is ``inf`` (as torch); with
    ``zero_infinity=True`` it is 0 with a zero gradient. Without ``zero_infinity`` the gradient
    of an infinite loss is 0 here, where torch's is NaN.

    *Numerics.* The recursion runs in log space with the max-shifted log-sum-exp of the (two or)
    three predecessors of each state. Impossible states and ``log_probs`` of ``-inf`` (or
    below ``-1e30``) are held at the finite stand-in ``-1e30``, whose exponential next to any
    real term is exactly 0: values are those of the ``-inf`` recursion, while no ``-inf``
    ever meets a log-sum-exp, so the value and the gradient are NaN-free without ``where``
    guards (which cost JAX's reverse pass through the loop about 2x). A sequence whose
    log-likelihood ends below ``-5e29`` has no alignment and gets ``inf``; a genuine loss that
    large needs log-probabilities near ``-1e27`` per frame. NaN in ``log_probs`` propagates.
    float16 and bfloat16 inputs are computed in float32 and the loss cast back.

    *Gradient.* Autodiff through the recursion gives the exact derivative of the loss with
    respect to ``log_probs``, :math:`-\gamma_t(k)` (minus the posterior probability that frame
    :math:`t` emits :math:`k`). torch's hand-written backward returns
    :math:`e^{y} - \gamma` instead, i.e. it assumes ``log_probs`` is a ``log_softmax`` output
    and folds in that Jacobian; the two agree exactly on the gradient with respect to the
    logits before ``log_softmax``, which is what training uses. Frames at or past the input
    length get a zero gradient in both.

    *Speed.* Where a framework has a CTC kernel that can give these numbers, it runs
    (:mod:`lossbridge.backends._ctc_ops`): torch eagerly ``aten._ctc_loss`` and its backward
    (known lengths, ``log_probs <= 0.5``; a float32 input that needs a gradient is computed
    in float64, because the kernel's float32 gradient is accurate only to ~2e-4 at T=200),
    under ``torch.compile`` the same kernels as the custom operators
    ``lossbridge::ctc_forward`` / ``ctc_backward``; TensorFlow's C++ ``CTCLoss`` in float32,
    eagerly and inside ``tf.function`` (not under XLA), with the per-frame log-sum-exp it
    removes added back (its float32 gradient is accurate to ~3e-4 at T=200, as
    ``tf.nn.ctc_loss``'s). Everything else runs the recursion: one step per frame, each a
    dozen elementwise operations on an (N, 2S + 3) array; JAX as ``lax.scan``, TensorFlow as
    ``tf.while_loop``, torch eagerly as a Python loop
    (:mod:`lossbridge.backends._loops`). Known (concrete) lengths trim the work to
    ``max(input_lengths)`` frames and ``max(target_lengths)`` labels. See
    ``docs/performance.md``.

    *Other layouts.* ``tf.nn.ctc_loss(labels, logits, label_length, logit_length,
    logits_time_major=True, blank_index=0)`` takes **logits** (it applies ``log_softmax``,
    which leaves log-probabilities unchanged) time-major by default or batch-major with
    ``logits_time_major=False``, dense labels (N, S) or a ``SparseTensor``, and returns the
    unreduced (N,) loss. Convert with ``ctc_loss(tf.nn.log_softmax(logits), labels,
    logit_length, label_length, blank=b, reduction='none')``, transposing batch-major logits
    to (T, N, C) first. TF's ``blank_index=-1`` means ``C - 1`` (the TF1 / Keras 2
    convention); infeasible sequences give a large finite value in TF, not ``inf``.
    optax ``ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id=0)`` is
    batch-major, (B, T, K) logits, with **paddings** (1.0 at padded steps) instead of
    lengths: ``input_lengths = T - sum(logit_paddings, axis=1)``, ``target_lengths = S -
    sum(label_paddings, axis=1)``, ``log_probs = moveaxis(log_softmax(logits), 1, 0)``, and
    it returns (B,) unreduced; infeasible sequences give about ``1e5`` (its ``log_epsilon``).

    References
    ----------
    A. Graves, S. Fernandez, F. Gomez and J. Schmidhuber, "Connectionist Temporal
    Classification: Labelling Unsegmented Sequence Data with Recurrent Neural Networks",
    ICML 2006. PyTorch documentation, ``torch.nn.CTCLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> log_probs = np.log(np.full((3, 1, 2), 0.5))  # T=3 steps, batch 1, classes {blank, a}
    >>> targets, input_lengths, target_lengths = np.array([[1]]), np.array([3]), np.array([1])
    >>> loss = lb.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="sum")
    >>> bool(np.isclose(loss, -np.log(6 * 0.5**3)))  # 6 of the 8 paths collapse to "a"
    True
    """
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="ctc_loss")
    host_il, host_tl = _host_ints(input_lengths), _host_ints(target_lengths)
    xp, device, log_probs, targets, input_lengths, target_lengths = _convert(
        log_probs, targets, input_lengths, target_lengths
    )
    check_floating(xp, log_probs, "log_probs")
    check_integer(xp, targets, "targets", "class indices")
    check_integer(xp, input_lengths, "input_lengths", "frames per sequence")
    check_integer(xp, target_lengths, "target_lengths", "labels per sequence")
    if log_probs.ndim not in (2, 3):
        raise ValueError(
            f"log_probs must have shape (T, N, C) or, unbatched, (T, C); got "
            f"{shape_str(log_probs.shape)}"
        )
    unbatched = log_probs.ndim == 2
    if unbatched:
        if targets.ndim != 1:
            raise ValueError(
                f"targets must have shape (S,) for unbatched log_probs {shape_str(log_probs.shape)}"
                f"; got {shape_str(targets.shape)}"
            )
        log_probs = xp.expand_dims(log_probs, axis=1)
        targets = xp.expand_dims(targets, axis=0)
        input_lengths, target_lengths = (
            xp.reshape(v, (1,)) if v.ndim == 0 else v for v in (input_lengths, target_lengths)
        )
    n_frames, batch, n_classes = (int(d) for d in log_probs.shape)
    if isinstance(blank, bool) or not isinstance(blank, numbers.Integral):
        raise TypeError(f"blank must be an int; got {blank!r}")
    blank = int(blank)
    if not 0 <= blank < n_classes:
        raise ValueError(f"blank={blank!r} must be an int in [0, C) = [0, {n_classes})")
    for v, name in ((input_lengths, "input_lengths"), (target_lengths, "target_lengths")):
        if tuple(v.shape) != (batch,):
            expected = "(1,) or ()" if unbatched else f"({batch},)"
            raise ValueError(
                f"{name} has shape {shape_str(v.shape)}; expected {expected}, one length per "
                f"sequence of log_probs {shape_str(log_probs.shape)}"
            )
    concatenated = targets.ndim == 1
    if targets.ndim not in (1, 2) or (not concatenated and int(targets.shape[0]) != batch):
        raise ValueError(
            f"targets has shape {shape_str(targets.shape)}; expected padded labels "
            f"({batch}, S) or the concatenated labels of all sequences, 1-D"
        )

    il = _values(xp, input_lengths, host_il)
    tl = _values(xp, target_lengths, host_tl)
    _check_lengths(il, tl, targets, n_frames, concatenated)
    if il is not None and len(il):
        # Known lengths: frames past the longest input change nothing; skip them.
        n_frames = max(il)
        log_probs = log_probs[:n_frames, ...]
    if concatenated:
        labels, n_labels = _pad_concatenated(xp, device, targets, target_lengths, tl, batch)
    else:
        n_labels = int(targets.shape[1]) if tl is None or not len(tl) else max(tl)
        labels = targets[:, :n_labels]
    host_labels = _check_labels(xp, device, labels, tl, n_classes)

    dtype = log_probs.dtype
    if dtype != xp.float32 and dtype != xp.float64:
        # float16 / bfloat16: the recursion's log 0 stand-in (-1e30) needs float32's range.
        log_probs = xp.astype(log_probs, xp.float32)

    def generic() -> Any:
        return _ctc_forward(xp, device, log_probs, labels, input_lengths, target_lengths, blank)

    loss = None
    if batch and n_frames:
        loss = _native(
            xp,
            log_probs,
            labels,
            host_labels,
            il,
            tl,
            blank,
            generic,
            input_lengths,
            target_lengths,
        )
    if loss is None:
        loss = generic()
    if loss.dtype != dtype:
        loss = xp.astype(loss, dtype)
    if zero_infinity:
        loss = xp.where(xp.isinf(loss), xp.zeros_like(loss), loss)
    if reduction == "mean":
        tl_f = xp.astype(target_lengths, loss.dtype)
        per_label = loss / xp.where(tl_f >= 1, tl_f, xp.ones_like(tl_f))
        loss = reduce(xp, per_label, "mean", override=over)
    elif unbatched and reduction == "none":
        loss = xp.reshape(loss, ())
    else:
        loss = reduce(xp, loss, reduction)
    return loss


# AutoGraph calls a function carrying ``autograph_info__`` unconverted (as lossbridge's
# ``__init__`` does for every public loss): there is no tensor control flow to convert here.
ctc_loss.autograph_info__ = {}  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------
# The recursion
# ------------------------------------------------------------------------------------------


# A finite stand-in for log 0 (-inf) in the recursion. With no -inf anywhere, the max shift is
# always finite, every sum of exponentials holds its own max term (so it is >= 1), and the
# log-sum-exp needs no ``where`` guards: no NaN can arise in the value or the gradient, and the
# step is four operations shorter (measured: JAX's gradient through the scan 2x faster than
# with guards). exp(_NEG - m) is exactly 0 beside any real term, so reachable states get the
# same values as with -inf. Unreachable states stay below _NEG / 2: a state falls by at most
# |_NEG| per frame (a clamped log 0 emission), so float32 cannot overflow before ~3e8 frames.
_NEG = -1e30
_UNREACHABLE = _NEG / 2


def _alpha_step(carry: Any, x: Any, consts: Any) -> Any:
    r"""One frame of the alpha recursion on the padded carry (N, 2S + 3).

    ``carry[:, j]`` holds :math:`\log\alpha(j - 2)`; columns 0 and 1 are always ``_NEG``, so
    the predecessors s, s-1 and s-2 of every state are three slices. Few operations per step
    matter: torch's eager loop pays microseconds of dispatch for each.
    """
    emit_t, active_t = x
    skip_bias, pad = consts
    xp, _ = get_namespace(carry)
    stay = carry[:, 2:]
    terms = xp.stack([stay, carry[:, 1:-1], carry[:, :-2] + skip_bias], axis=0)
    m = stop_gradient(xp.max(terms, axis=0))
    new = xp.log(xp.sum(xp.exp(terms - m), axis=0)) + m + emit_t
    return xp.concat([pad, xp.where(active_t, new, stay)], axis=1)


def _ctc_forward(
    xp: Any,
    device: Any,
    log_probs: Any,
    labels: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int,
) -> Any:
    """Per-sequence CTC loss, shape (N,): ``-log`` of the summed alignment probability."""
    n_frames, batch, _ = (int(d) for d in log_probs.shape)
    n_labels = int(labels.shape[1])
    width = 2 * n_labels + 1
    idx_dtype = target_lengths.dtype

    # Extended labels l' = (blank, l1, blank, l2, ..., blank): (N, 2S + 1). Entries past a
    # sequence's target length become blanks (padding may hold anything, e.g. -1); states past
    # 2 * target_length are computed but never read (the recursion only moves forward).
    pos = arange_on(xp, n_labels, idx_dtype, device)
    labels = xp.astype(labels, idx_dtype) if labels.dtype != idx_dtype else labels
    blanks = xp.full_like(labels, blank)
    used = xp.expand_dims(pos, axis=0) < xp.expand_dims(target_lengths, axis=1)
    labels = xp.where(used, labels, blanks)
    ext = xp.concat(
        [
            xp.reshape(xp.stack([blanks, labels], axis=2), (batch, 2 * n_labels)),
            xp.expand_dims(xp.full_like(target_lengths, blank), axis=1),
        ],
        axis=1,
    )

    # Emissions of the extended labels at every frame: (T, N, 2S + 1), gathered once; log 0
    # (and anything below) becomes _NEG. NaN stays NaN.
    index = xp.broadcast_to(xp.expand_dims(ext, axis=0), (n_frames, batch, width))
    emit = xp.clip(take_along_axis(xp, log_probs, index, 2), min=_NEG)

    # The skip from s-2 is allowed where l'_s != l'_{s-2} (torch's rule, which also forbids it
    # into blanks): a bias of 0 there, _NEG elsewhere.
    zero = xp.zeros_like(ext, dtype=log_probs.dtype)  # (N, 2S + 1)
    neg = zero + _NEG
    if width >= 3:
        allow = xp.concat([ext[:, :2] != ext[:, :2], ext[:, 2:] != ext[:, :-2]], axis=1)
        skip_bias = xp.where(allow, zero, neg)
    else:
        skip_bias = neg
    pad = xp.concat([neg[:, :1]] * 2, axis=1)
    # Before the first frame: alpha(0) = log 1, every other state log 0.
    init = xp.concat([pad, zero[:, :1], neg[:, 1:]], axis=1)

    frames = arange_on(xp, n_frames, idx_dtype, device)
    active = xp.expand_dims(
        xp.expand_dims(frames, axis=1) < xp.expand_dims(input_lengths, axis=0), axis=2
    )  # (T, N, 1): frame t counts for sequence n; later frames leave the states as they are
    carry = init
    if n_frames > 0:
        carry = fold(_alpha_step, init, (emit, active), consts=(skip_bias, pad))

    # log p = logsumexp(alpha(2S_n), alpha(2S_n - 1)): carry columns 2S_n + 2 and 2S_n + 1
    # (column 1 is the _NEG pad: the second term of an empty target).
    last = 2 * target_lengths + 2
    ends = take_along_axis(xp, carry, xp.stack([last, last - 1], axis=1), 1)
    m = stop_gradient(xp.max(ends, axis=1, keepdims=True))
    loglik = xp.squeeze(xp.log(xp.sum(xp.exp(ends - m), axis=1, keepdims=True)) + m, axis=1)
    # No alignment: inf, with a zero gradient ("<=", so that NaN stays NaN).
    return xp.where(loglik <= _UNREACHABLE, xp.full_like(loglik, xp.inf), -loglik)


def _native(
    xp: Any,
    log_probs: Any,
    labels: Any,
    host_labels: Any,
    il: list[int] | None,
    tl: list[int] | None,
    blank: int,
    generic: Any,
    input_lengths: Any,
    target_lengths: Any,
) -> Any:
    """The framework's own CTC kernel with lossbridge's value and gradient, or None.

    torch eager: ``aten._ctc_loss``, with concrete lengths. TensorFlow: the C++ ``CTCLoss``
    kernel, eagerly with the labels read by the value checks, and inside ``tf.function``
    behind a ``tf.cond`` on the conditions it needs (``generic`` is the other branch); not
    under XLA (:mod:`lossbridge.backends._ctc_ops`). Every input a kernel cannot take exactly
    gets None and the generic recursion. The namespace is told by its name, as
    :func:`lossbridge.backends.fused` does, so that no framework is imported here.
    """
    ns = getattr(xp, "__name__", None)
    if ns == "array_api_compat.torch":
        from lossbridge.backends import _ctc_ops

        if il is None or tl is None:
            if _is_compiling():
                return _ctc_ops.torch_ctc_traced(
                    log_probs, labels, input_lengths, target_lengths, blank
                )
            return None

        usable, neg_inf = _ctc_ops.torch_usable(log_probs)
        if not usable:
            return None
        return _ctc_ops.torch_ctc(log_probs, labels, il, tl, blank, neg_inf)
    if ns == "lossbridge.backends.tensorflow":
        from lossbridge.backends import _ctc_ops

        if il is not None and tl is not None and host_labels is not None:
            return _ctc_ops.tf_ctc(log_probs, host_labels, il, tl, blank)
        if is_concrete(log_probs):
            return None  # eager: tf_ctc declined above (e.g. empty labels)
        return _ctc_ops.tf_ctc_traced(
            log_probs, labels, input_lengths, target_lengths, blank, generic
        )
    return None


def _is_compiling() -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.compiler.is_compiling())


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def _convert(*args: Any) -> tuple[Any, ...]:
    """``(xp, device, log_probs, targets, input_lengths, target_lengths)``, one device.

    Host data (lists, tuples, ints, NumPy arrays) is converted. Targets and lengths of the
    same framework on another device are moved, as torch takes CPU lengths and targets with
    CUDA log-probabilities; arrays of another framework raise ``TypeError``.
    """
    for v, name in zip(args, _NAMES, strict=True):
        check_array_like(v, name)
    xp, device = get_namespace(args[0], names=_NAMES[:1])
    out = [asarray_on(args[0], xp, device)]
    for v, name in zip(args[1:], _NAMES[1:], strict=True):
        try:
            get_namespace(args[0], v, names=(_NAMES[0], name))
        except ValueError:  # same framework, another device
            move = getattr(xp, "to_device", None) or _to_device  # TF's namespace has one
            v = move(v, device)
        out.append(asarray_on(v, xp, device))
    return (xp, device, *out)


def _to_device(x: Any, device: Any) -> Any:
    import array_api_compat

    return array_api_compat.to_device(x, device)


def _host_ints(v: Any) -> list[int] | None:
    """Lengths given as a Python int, list or tuple of ints: their values; else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return [v]
    if isinstance(v, (list, tuple)) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in v
    ):
        return [int(i) for i in v]
    return None


def _values(xp: Any, v: Any, host: list[int] | None) -> list[int] | None:
    """The values of a length array where they can be read (never while tracing)."""
    if host is not None:
        return host
    arr = _host_array(xp, v)
    if arr is None:
        return None
    if hasattr(arr, "tolist"):  # NumPy: one conversion
        return [int(i) for i in arr.tolist()]
    return [int(arr[i]) for i in range(int(arr.shape[0]))] if arr.shape[0] else []


def _host_array(xp: Any, v: Any) -> Any:
    """A concrete array's values in one host read: NumPy for torch, TensorFlow and JAX.

    Other namespaces (NumPy, array-api-strict, ...) get the array itself; traced arrays None.
    One ``.numpy()`` replaces the several eager operations and per-element reads that the
    checks would otherwise cost (each is microseconds in TensorFlow eager).
    """
    view = eager_view(xp, v)
    if view is None:
        return None
    vxp, arr = view
    ns = getattr(vxp, "__name__", None)
    if ns == "array_api_compat.torch":
        return arr.detach().cpu().numpy()
    return arr  # NumPy's own, or eager_view's NumPy view of a JAX / TensorFlow array


def _check_lengths(
    il: list[int] | None, tl: list[int] | None, targets: Any, n_frames: int, concatenated: bool
) -> None:
    if il is not None:
        for name, vals, high in (("input_lengths", il, n_frames),):
            bad = [v for v in vals if not 0 <= v <= high]
            if bad:
                raise ValueError(
                    f"{name} must have values in [0, T] = [0, {high}] (T = log_probs.shape[0]);"
                    f" got {bad[0]}"
                )
    if tl is None:
        return
    if any(v < 0 for v in tl):
        raise ValueError(f"target_lengths must be non-negative; got {min(tl)}")
    if concatenated:
        if int(targets.shape[0]) != sum(tl):
            raise ValueError(
                f"targets is 1-D (concatenated labels) of size {int(targets.shape[0])}, but "
                f"target_lengths sums to {sum(tl)}; they must be equal"
            )
    elif tl and max(tl) > int(targets.shape[1]):
        raise ValueError(
            f"target_lengths has value {max(tl)}, more than the {int(targets.shape[1])} labels "
            f"per row of targets {shape_str(targets.shape)}"
        )


def _pad_concatenated(
    xp: Any, device: Any, targets: Any, target_lengths: Any, tl: list[int] | None, batch: int
) -> tuple[Any, int]:
    """Concatenated labels as padded rows (N, S); S = max(target_lengths) when known."""
    total = int(targets.shape[0])
    # Traced lengths: the longest possible row is all the labels.
    n_labels = total if tl is None else (max(tl) if tl else 0)
    if n_labels == 0 or total == 0:
        return xp.reshape(targets[:0], (batch, 0)), 0
    lengths = xp.astype(target_lengths, targets.dtype)
    # dtype= keeps int32 int32: the standard widens it to the default integer dtype otherwise
    # (int64 in NumPy and TensorFlow), and TensorFlow's operators refuse int64 - int32.
    offsets = xp.cumulative_sum(lengths, dtype=lengths.dtype) - lengths
    pos = arange_on(xp, n_labels, targets.dtype, device)
    idx = xp.expand_dims(offsets, axis=1) + xp.expand_dims(pos, axis=0)
    idx = xp.clip(idx, 0, total - 1)
    padded = xp.take(targets, xp.reshape(idx, (-1,)), axis=0)
    return xp.reshape(padded, (batch, n_labels)), n_labels


def _check_labels(xp: Any, device: Any, labels: Any, tl: list[int] | None, n_classes: int) -> Any:
    """Raise if a concrete label within its sequence's length is outside [0, C).

    Returns the labels as read (NumPy for torch, TensorFlow and JAX; None if traced or
    empty), for the native kernels' checks.
    """
    if int(labels.shape[1]) == 0 or tl is None:
        return None
    lab_v = _host_array(xp, labels)
    if lab_v is None:
        return None
    if hasattr(lab_v, "tolist"):  # NumPy
        import numpy as np

        used = np.arange(lab_v.shape[1])[None, :] < np.asarray(tl, dtype=np.int64)[:, None]
        bad = used & ((lab_v < 0) | (lab_v >= n_classes))
        if bad.any():
            worst = np.where(bad, lab_v, 0)
            value = int(worst.max()) if (worst > 0).any() else int(worst.min())
            _raise_label(value, n_classes)
        return lab_v
    vxp = xp
    pos = arange_on(vxp, int(lab_v.shape[1]), lab_v.dtype, device)
    len_v = asarray_on(tl, vxp, device, dtype=lab_v.dtype) if tl else None
    if len_v is None:
        return None
    used = vxp.expand_dims(pos, axis=0) < vxp.expand_dims(len_v, axis=1)
    bad = vxp.logical_and(used, vxp.logical_or(lab_v < 0, lab_v >= n_classes))
    if bool(vxp.any(bad)):
        worst = vxp.where(bad, lab_v, vxp.zeros_like(lab_v))
        value = int(vxp.max(worst)) if bool(vxp.any(worst > 0)) else int(vxp.min(worst))
        _raise_label(value, n_classes)
    return None


def _raise_label(value: int, n_classes: int) -> None:
    raise ValueError(
        f"targets holds label {value}, out of range for {n_classes} classes; expected values "
        f"in [0, {n_classes - 1}] (within each sequence's target length)"
    )
