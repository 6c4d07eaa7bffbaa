r"""Native CTC kernels behind :func:`lossbridge.ctc.ctc_loss` (torch and TensorFlow).

:mod:`lossbridge.ctc` reaches this module only when a torch or TensorFlow array arrives; each
function imports its framework inside itself. Every input a kernel cannot take exactly gets
None and the generic recursion. All keep lossbridge's convention, which is neither framework's:

* the value is torch's ``F.ctc_loss`` of the given ``log_probs`` (no renormalisation);
* the gradient with respect to ``log_probs`` is the exact derivative, :math:`-\gamma_t(k)`
  (minus the posterior), on frames ``t < input_lengths[n]``, 0 on later frames and 0 for
  infeasible (infinite) losses.

torch eager (:func:`torch_ctc`): ``aten._ctc_loss`` and ``aten._ctc_loss_backward`` in a
``torch.autograd.Function``. The backward returns :math:`e^{y} - \gamma` (it assumes
``log_softmax`` input); :math:`e^{y}` is subtracted again on the frames that count, so the
path is taken only where :math:`y \le 0.5` (:func:`torch_usable`, one ``aminmax``: the
cancellation then costs a few ulp of 1). The kernel's float32 posterior
:math:`\exp(\mathrm{lcab} + \mathrm{nll} - y)` carries the rounding of ``nll`` (2e-4 relative
at T=200, where autodiff through the recursion gives 4e-5), so a float32 input that needs a
gradient runs the kernel in float64 (4e-7); a forward-only call stays float32.

torch.compile (:func:`torch_ctc_traced`): the same pair as custom operators
``lossbridge::ctc_forward`` / ``lossbridge::ctc_backward`` with static output shapes, on
``log_softmax(y)`` (values cannot be checked while tracing) with the removed log-sum-exp added
back.

TensorFlow (:func:`tf_ctc`, :func:`tf_ctc_traced`): the C++ ``CTCLoss`` kernel takes logits
and applies ``log_softmax``; with :math:`\mathrm{lse}_t` the log-sum-exp over classes of frame
``t``, ``ours(y) = native(y) - sum_{t < T_n} lse_t(y)``, whose gradient (the kernel's
registered one, softmax - gamma, plus autodiff of the sum) is exactly ours. float32 only;
its float32 gradient is accurate to about 3e-4 relative at T=200 (as ``tf.nn.ctc_loss``'s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["tf_ctc", "tf_ctc_traced", "torch_ctc", "torch_usable"]

# exp(log_probs) is added back by torch's backward and removed here: exact to a few ulp of
# max(1, exp(max log_probs)); above this the generic recursion runs.
_TORCH_MAX_LOG_PROB = 0.5

_TORCH_FN: Any = None


def torch_usable(log_probs: Any) -> tuple[bool, bool]:
    """``(usable, has_neg_inf)``: whether :func:`torch_ctc` is exact for ``log_probs``.

    Usable: float32/float64, not empty, not traced (``torch.compile``: ``aten._ctc_loss`` has
    data-dependent output shapes), not on an accelerator under
    ``torch.use_deterministic_algorithms(True)``, no NaN and no value above 0.5 (not
    log-probabilities; the generic path is exact there). Reads the range of ``log_probs``
    once (one ``aminmax`` kernel and one host read); ``has_neg_inf`` tells the backward to
    zero the gradient at log 0.
    """
    import torch

    if log_probs.dtype not in (torch.float32, torch.float64) or log_probs.numel() == 0:
        return False, False
    if torch.compiler.is_compiling() or not _is_plain_torch(log_probs):
        return False, False
    if log_probs.device.type != "cpu" and torch.are_deterministic_algorithms_enabled():
        return False, False  # the CUDA backward has no deterministic implementation
    lo, hi = torch.stack(torch.aminmax(log_probs.detach())).tolist()
    return hi <= _TORCH_MAX_LOG_PROB, lo == float("-inf")  # False for NaN


def _is_plain_torch(x: Any) -> bool:
    """A plain (or Parameter) tensor: no FakeTensor, functorch wrapper or other subclass."""
    import torch

    if type(x) not in (torch.Tensor, torch.nn.Parameter):
        return False
    try:
        import torch._C._functorch as ft

        return not ft.is_functorch_wrapped_tensor(x)
    except (ImportError, AttributeError):  # pragma: no cover - older torch
        return True


def _torch_function() -> Any:
    global _TORCH_FN
    if _TORCH_FN is not None:
        return _TORCH_FN
    import torch

    class _NativeCTC(torch.autograd.Function):
        """``aten._ctc_loss`` forward; backward ``aten._ctc_loss_backward`` minus ``exp(lp)``."""

        @staticmethod
        def forward(log_probs, targets, il, tl, blank, neg_inf):  # type: ignore[override]
            nll, log_alpha = torch.ops.aten._ctc_loss(log_probs, targets, il, tl, blank, False)
            return nll, log_alpha

        @staticmethod
        def setup_context(ctx, inputs, output):  # type: ignore[override]
            log_probs, targets, il, tl, blank, neg_inf = inputs
            nll, log_alpha = output
            ctx.save_for_backward(log_probs, targets, nll, log_alpha)
            ctx.il, ctx.tl, ctx.blank, ctx.neg_inf = il, tl, blank, neg_inf
            ctx.mark_non_differentiable(log_alpha)

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_nll, _grad_alpha):  # type: ignore[override]
            log_probs, targets, nll, log_alpha = ctx.saved_tensors
            il, tl, blank = ctx.il, ctx.tl, ctx.blank
            if grad_nll is None:
                return None, None, None, None, None, None
            # zero_infinity=True: rows of infinite loss get 0 (torch's would be NaN).
            gr = torch.where(torch.isinf(nll), torch.zeros_like(grad_nll), grad_nll)
            native = torch.ops.aten._ctc_loss_backward(
                gr, log_probs, targets, il, tl, nll, log_alpha, blank, True
            )
            n_frames = log_probs.shape[0]
            frames = torch.arange(n_frames, device=log_probs.device)
            lengths = torch.as_tensor(il, device=log_probs.device)
            # e^y on the frames that count, times the (zeroed where infinite) output gradient
            scale = torch.where(frames[:, None] < lengths[None, :], gr[None, :], 0.0)
            grad = torch.addcmul(native, log_probs.exp(), scale[:, :, None], value=-1.0)
            # log_probs of -inf: torch's backward gives NaN there (-inf - -inf); the derivative
            # is 0 (the posterior of an impossible emission).
            if ctx.neg_inf:
                grad = torch.where(torch.isneginf(log_probs), 0.0, grad)
            return grad, None, None, None, None, None

    _TORCH_FN = _NativeCTC
    return _TORCH_FN


def torch_ctc(
    log_probs: Any,
    targets: Any,
    input_lengths: list[int],
    target_lengths: list[int],
    blank: int,
    neg_inf: bool,
) -> Any:
    """Per-sequence loss (N,) from ``aten._ctc_loss``: inf where infeasible, our gradient.

    ``log_probs`` (T, N, C) float32/float64 with :func:`torch_usable` true; ``targets`` padded
    (N, S) or concatenated (sum(target_lengths),) integers; lengths as Python ints.
    """
    import torch

    if targets.dtype != torch.int64:
        targets = targets.to(torch.int64)
    dtype = log_probs.dtype
    if dtype == torch.float32 and log_probs.requires_grad and torch.is_grad_enabled():
        # The kernel's float32 posterior exp(lcab + nll - lp) loses ~ulp(nll) (2e-4 relative
        # at T=200, against 4e-5 for the recursion's autodiff): the gradient runs in float64.
        log_probs = log_probs.to(torch.float64)
    nll, _ = _torch_function().apply(
        log_probs, targets, list(input_lengths), list(target_lengths), int(blank), bool(neg_inf)
    )
    return nll.to(dtype) if nll.dtype != dtype else nll


def tf_ctc(
    log_probs: Any, labels: Any, input_lengths: list[int], target_lengths: list[int], blank: int
) -> Any:
    """Per-sequence loss (N,) from TensorFlow's C++ ``CTCLoss`` kernel, or None.

    ``labels``: the padded (N, S) labels as a NumPy array (read once by the value checks).
    None (the generic recursion runs) where the kernel differs from torch: a dtype other
    than float32 (the kernel's float64 is accurate to about 1e-7 only), non-finite
    ``log_probs`` (the kernel gives NaN at log 0), an empty target, a label equal to
    ``blank`` (TF cannot express torch's skip rule for it), or an infeasible sequence (too
    few frames; ours is ``inf``). The kernel's blank is the last class: another blank is
    moved there by slicing (as ``tf.nn.ctc_loss`` does).
    """
    import numpy as np
    import tensorflow as tf

    if labels is None or log_probs.dtype != tf.float32:
        return None
    if not bool(tf.reduce_all(tf.math.is_finite(log_probs))):
        return None  # log 0 (-inf) gives NaN in the kernel; NaN must propagate as ours does
    n_frames, batch, n_classes = (int(d) for d in log_probs.shape)
    il = np.asarray(input_lengths, dtype=np.int64)
    tl = np.asarray(target_lengths, dtype=np.int64)
    lab = np.asarray(labels)
    used = np.arange(lab.shape[1])[None, :] < tl[:, None]
    if not tl.all() or (used & (lab == blank)).any():
        return None
    repeats = (used[:, 1:] & (lab[:, 1:] == lab[:, :-1])).sum(axis=1)
    if (tl + repeats > il).any():
        return None
    values = lab[used].astype(np.int32)
    if blank != n_classes - 1:
        values = np.where(values > blank, values - 1, values)
    indices = np.argwhere(used).astype(np.int64)
    return _tf_native(log_probs, indices, values, il.astype(np.int32), blank)


def tf_ctc_traced(
    log_probs: Any,
    labels: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int,
    generic: Callable[[], Any],
) -> Any:
    """Inside ``tf.function`` (values unknown): the kernel where it is exact, else ``generic()``.

    The conditions of :func:`tf_ctc` (non-empty targets, no label equal to ``blank``, every
    sequence feasible, finite ``log_probs``, lengths in range) are tested in the graph and
    one ``tf.cond`` picks the branch. None under XLA (``jit_compile=True``: the kernel has no
    XLA implementation), for dtypes other than float32, and where no ``GradientTape`` watches
    ``log_probs`` (a forward-only graph: the recursion's ``tf.while_loop`` is faster than the
    kernel there, 45 against 73 ms at the benchmark's shape, since the kernel always computes
    the gradient too); the caller runs ``generic`` then.
    """
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    if log_probs.dtype != tf.float32:
        return None
    if control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()):
        return None
    if not _tf_taped(log_probs):
        return None  # forward only: the recursion in a graph is faster than the kernel
    n_frames, _, n_classes = (int(d) for d in log_probs.shape)
    il = tf.cast(input_lengths, tf.int32)
    tl = tf.cast(target_lengths, tf.int32)
    lab = tf.cast(labels, tf.int32)
    used = tf.range(tf.shape(lab)[1])[None, :] < tl[:, None]
    repeats = tf.logical_and(used[:, 1:], tf.equal(lab[:, 1:], lab[:, :-1]))
    required = tl + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)
    ok = tf.reduce_all(
        tf.stack(
            [
                tf.reduce_all(tl > 0),
                tf.reduce_all(required <= il),
                tf.reduce_all(il <= n_frames),
                tf.logical_not(tf.reduce_any(tf.logical_and(used, tf.equal(lab, blank)))),
                tf.reduce_all(tf.math.is_finite(log_probs)),
            ]
        )
    )

    def native() -> Any:
        indices = tf.where(used)
        values = tf.gather_nd(lab, indices)
        if blank != n_classes - 1:
            values = tf.where(values > blank, values - 1, values)
        return _tf_native(log_probs, indices, values, il, blank)

    return tf.cond(ok, native, generic)


def _tf_taped(x: Any) -> bool:
    """Whether a ``GradientTape`` records operations on ``x`` (True when it cannot be told)."""
    try:
        from tensorflow.python.eager import record

        return bool(record.should_record_backprop([x]))
    except (ImportError, AttributeError):  # pragma: no cover - another TF layout
        return True


def _tf_native(x: Any, indices: Any, values: Any, il: Any, blank: int) -> Any:
    """``CTCLoss`` of ``x`` minus the per-frame log-sum-exp it removed; gradient ``-gamma``."""
    import tensorflow as tf

    n_frames, _, n_classes = (int(d) for d in x.shape)
    last = n_classes - 1
    seq = tf.convert_to_tensor(il, dtype=tf.int32)

    def to_kernel(a: Any) -> Any:  # the blank moved to the last class (slices: memcpy)
        if blank == last:
            return a
        return tf.concat([a[:, :, :blank], a[:, :, blank + 1 :], a[:, :, blank : blank + 1]], 2)

    def from_kernel(a: Any) -> Any:
        if blank == last:
            return a
        return tf.concat([a[:, :, :blank], a[:, :, last:], a[:, :, blank:last]], 2)

    # TF's registered gradient of CTCLoss is its second output (softmax - gamma on t < T_n,
    # 0 later) times the incoming gradient; autodiff through the log-sum-exp below adds
    # -softmax on t < T_n: -gamma. (No tf.custom_gradient: inside tf.cond in a tf.function
    # its gradient is lost.)
    loss, _ = tf.raw_ops.CTCLoss(
        inputs=to_kernel(x),
        labels_indices=indices,
        labels_values=values,
        sequence_length=seq,
        preprocess_collapse_repeated=False,
        ctc_merge_repeated=True,
        ignore_longer_outputs_than_inputs=False,
    )
    # x is finite (checked): the max-shifted log-sum-exp needs no inf guards.
    m = tf.stop_gradient(tf.reduce_max(x, axis=2, keepdims=True))
    lse = tf.math.log(tf.reduce_sum(tf.exp(x - m), axis=2)) + m[:, :, 0]  # (T, N)
    mask = tf.range(n_frames, dtype=tf.int32)[:, None] < seq[None, :]
    return loss - tf.reduce_sum(tf.where(mask, lse, tf.zeros_like(lse)), axis=0)


# ------------------------------------------------------------------------------------------
# torch.compile: the kernel as a custom operator pair (static output shapes)
# ------------------------------------------------------------------------------------------

_TORCH_OPS_READY = False


def _ensure_torch_ops() -> bool:
    """Register ``lossbridge::ctc_forward`` / ``lossbridge::ctc_backward`` once; True then.

    ``aten._ctc_loss`` and its backward with tensor lengths and padded (N, S) targets, whose
    outputs have static shapes ((N,), (N, T, 2S + 1)), so that Dynamo traces them in a full
    graph (it refuses ``aten._ctc_loss`` itself, a "dynamic shape operator"). Under
    ``torch.compile`` this runs as a constant at trace time (marked as
    ``torch.compiler.assume_constant_result`` marks, as ``_loops._ensure_torch_ops`` is),
    because Dynamo cannot trace an operator's registration.
    """
    global _TORCH_OPS_READY
    if not _TORCH_OPS_READY:
        _register_torch_ops()
        _TORCH_OPS_READY = True
    return True


_ensure_torch_ops._dynamo_marked_constant = True  # type: ignore[attr-defined]


def _register_torch_ops() -> None:
    import torch

    @torch.library.custom_op(
        "lossbridge::ctc_forward",
        mutates_args=(),
        schema="(Tensor log_probs, Tensor targets, Tensor input_lengths, "
        "Tensor target_lengths, int blank) -> (Tensor, Tensor)",
    )
    def ctc_forward(
        log_probs: torch.Tensor,
        targets: torch.Tensor,
        input_lengths: torch.Tensor,
        target_lengths: torch.Tensor,
        blank: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        nll, log_alpha = torch.ops.aten._ctc_loss.Tensor(
            log_probs, targets, input_lengths, target_lengths, blank, False
        )
        return nll, log_alpha

    @ctc_forward.register_fake
    def _(log_probs, targets, input_lengths, target_lengths, blank):  # type: ignore[no-untyped-def]
        n_frames, batch, _ = log_probs.shape
        width = 2 * targets.shape[1] + 1
        return log_probs.new_empty((batch,)), log_probs.new_empty((batch, n_frames, width))

    @torch.library.custom_op(
        "lossbridge::ctc_backward",
        mutates_args=(),
        schema="(Tensor grad, Tensor log_probs, Tensor targets, Tensor input_lengths, "
        "Tensor target_lengths, Tensor nll, Tensor log_alpha, int blank) -> Tensor",
    )
    def ctc_backward(
        grad: torch.Tensor,
        log_probs: torch.Tensor,
        targets: torch.Tensor,
        input_lengths: torch.Tensor,
        target_lengths: torch.Tensor,
        nll: torch.Tensor,
        log_alpha: torch.Tensor,
        blank: int,
    ) -> torch.Tensor:
        return torch.ops.aten._ctc_loss_backward.Tensor(
            grad, log_probs, targets, input_lengths, target_lengths, nll, log_alpha, blank, True
        )

    @ctc_backward.register_fake
    def _(grad, log_probs, *args):  # type: ignore[no-untyped-def]
        return torch.empty_like(log_probs)

    def setup_context(ctx, inputs, output):  # type: ignore[no-untyped-def]
        log_probs, targets, input_lengths, target_lengths, blank = inputs
        nll, log_alpha = output
        ctx.save_for_backward(log_probs, targets, input_lengths, target_lengths, nll, log_alpha)
        ctx.blank = blank

    def backward(ctx, grad_nll, _grad_alpha):  # type: ignore[no-untyped-def]
        log_probs, targets, input_lengths, target_lengths, nll, log_alpha = ctx.saved_tensors
        gr = torch.where(torch.isinf(nll), torch.zeros_like(grad_nll), grad_nll)
        native = ctc_backward(
            gr, log_probs, targets, input_lengths, target_lengths, nll, log_alpha, ctx.blank
        )
        frames = torch.arange(log_probs.shape[0], device=log_probs.device)
        count = frames[:, None] < input_lengths.to(log_probs.device)[None, :]
        scale = torch.where(count, gr[None, :], torch.zeros_like(gr)[None, :])
        grad = native - log_probs.exp() * scale[:, :, None]
        grad = torch.where(torch.isneginf(log_probs), torch.zeros_like(grad), grad)
        return grad, None, None, None, None

    ctc_forward.register_autograd(backward, setup_context=setup_context)


def torch_ctc_traced(
    log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any, blank: int
) -> Any:
    """Per-sequence loss (N,) under ``torch.compile``: the kernel on normalised input.

    The values cannot be checked while tracing, so the kernel gets ``log_softmax(log_probs)``
    (its backward's ``e^y`` then cancels to within a few ulp of 1 whatever the input) and the
    per-frame log-sum-exp it removed is subtracted back on the frames that count:
    ``ours(y) = native(y - lse) - sum_{t < T_n} lse_t``, whose gradient is ours. ``targets``
    padded (N, S); lengths tensors. float32 with a gradient runs the kernel in float64, as
    :func:`torch_ctc` does. None (the recursion) for other dtypes.
    """
    import torch

    if log_probs.dtype not in (torch.float32, torch.float64) or targets.ndim != 2:
        return None
    dtype = log_probs.dtype
    if dtype == torch.float32 and log_probs.requires_grad and torch.is_grad_enabled():
        log_probs = log_probs.to(torch.float64)
    lse = torch.logsumexp(log_probs, dim=2, keepdim=True)
    lse = torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))  # a frame all log 0
    il = input_lengths.to(torch.int64)
    _ensure_torch_ops()
    nll, _ = torch.ops.lossbridge.ctc_forward(
        log_probs - lse, targets.to(torch.int64), il, target_lengths.to(torch.int64), int(blank)
    )
    frames = torch.arange(log_probs.shape[0], device=log_probs.device)
    count = frames[:, None] < il.to(log_probs.device)[None, :]
    corr = torch.where(count, lse[:, :, 0], torch.zeros_like(lse[:, :, 0])).sum(0)
    # infeasible (inf): no correction, so that its gradient is 0 (the kernel's already is)
    loss = torch.where(torch.isinf(nll), nll, nll - corr)
    return loss.to(dtype) if loss.dtype != dtype else loss
