r"""Linear cross-entropy: ``cross_entropy(input @ linear_weight.T + linear_bias, target)``.

torch 2.13's ``torch.nn.functional.linear_cross_entropy`` and ``LinearCrossEntropyOptions`` on
every backend. With ``options`` the loss is computed a chunk of rows at a time, so the (N, C)
logits never exist (the loss of a language model's vocabulary head: 8,192 tokens and a 128k
vocabulary are 4 GiB of float32 logits); the per-framework loops and gradients live in
:mod:`lossbridge.backends._linear_ce`. Beyond torch, two keyword-only options that
language-model trainers use: PaLM's z-loss and Gemma 2's logit soft-capping.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
import warnings
from types import FrameType
from typing import Any

from lossbridge._inputs import promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import logsumexp
from lossbridge._reduction import COUNT
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_class_indices,
    check_denominator,
    check_floating,
    check_integer,
    check_real,
    check_reduction,
    public_entry,
    shape_str,
)
from lossbridge.backends import framework_name, get_namespace
from lossbridge.backends._linear_ce import reduce_rows
from lossbridge.classification import cross_entropy

__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy"]

_LOSS = "linear_cross_entropy"
_ACC_POLICIES = ("auto", "accurate", "balanced", "compact")
_ACC_DTYPES = ("float16", "bfloat16", "float32", "float64")
_HALF = ("float16", "bfloat16")
# torch's ``_AUTO_DEFAULTS`` (linear_cross_entropy_options.py): (acc_policy, chunking_method)
# per (device type, input dtype), and the fallback for every other pair
_AUTO_DEFAULTS = {
    ("cuda", "bfloat16"): ("compact", "aspect_ratio:2"),
    ("cuda", "float16"): ("compact", "aspect_ratio:2"),
    ("cpu", "bfloat16"): ("accurate", "aspect_ratio"),
    ("cpu", "float16"): ("accurate", "aspect_ratio"),
}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")


def _dtype_name(dtype: Any) -> str:
    """``'float32'`` for a dtype of any framework (or the name itself)."""
    if isinstance(dtype, str):
        return dtype
    name = getattr(dtype, "name", None)  # NumPy, ml_dtypes, TensorFlow
    if isinstance(name, str):
        return name
    inner: Any = getattr(dtype, "dtype", None)  # jax.numpy's scalar types (jnp.float32)
    if isinstance(getattr(inner, "name", None), str):
        return inner.name
    if isinstance(dtype, type):  # np.float32
        return dtype.__name__
    return str(dtype).rsplit(".", 1)[-1]  # torch.float32


@dataclasses.dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """Options of the chunked :func:`linear_cross_entropy`: torch's fields and meanings.

    ``torch.nn.LinearCrossEntropyOptions`` (torch 2.13) with the same fields, defaults and
    validation; one of torch's own instances is accepted wherever this class is (its fields
    are read by name). Passing options turns the chunked path on; ``options=None`` is the
    reference path (the logits formed whole).

    Parameters
    ----------
    allow_retain_graph : bool, default False
        torch only, ``'mean'``/``'sum'``: the gradients are computed in the forward pass and the
        backward hands them out in place, so a second ``backward()`` raises; True keeps them
        (one extra gradient-sized allocation per backward). ``'none'`` recomputes in its
        backward and ignores this field; JAX and TensorFlow differentiate functionally.
    batch_chunk_size : int or None, default None
        Rows per chunk (the last chunk may be shorter). None: one chunk, unless
        ``chunking_method`` picks a size. Setting it switches ``chunking_method='auto'`` off;
        with an explicit ``chunking_method`` the two must agree (``ValueError`` otherwise).
    chunking_method : {'auto', 'aspect_ratio', 'aspect_ratio:N'} or None, default 'auto'
        ``'aspect_ratio'`` makes each (chunk, C) logits block as large as the (N, in_features)
        input: ``next_pow2(ceil(N / ceil(C / in_features)))`` rows, min N; ``'aspect_ratio:N'``
        divides that by N. ``'auto'`` is torch's pick per device and dtype: ``'aspect_ratio'``
        for float16/bfloat16 on the CPU, ``'aspect_ratio:2'`` elsewhere. None: use
        ``batch_chunk_size``.
    acc_policy : {'auto', 'accurate', 'balanced', 'compact'}, default 'auto'
        torch's precision/memory trade-off for half inputs. Validated and recorded; lossbridge
        always computes float16/bfloat16 in float32 (the half-precision rule), which is
        torch's ``'accurate'``.
    acc_dtype : dtype, str or None, default None
        Accumulation dtype: float16, bfloat16, float32 or float64 (of any framework, or its
        name). As in torch, a call accepts only None, the input's own dtype, or float32 for a
        float16/bfloat16 input; lossbridge accumulates half inputs in float32 either way.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> opts = lb.LinearCrossEntropyOptions(batch_chunk_size=2)
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> w = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> bool(np.isclose(lb.linear_cross_entropy(x, w, [0, 1, 2], options=opts),
    ...                 lb.linear_cross_entropy(x, w, [0, 1, 2])))
    True
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: Any = None

    def __post_init__(self) -> None:
        where = "LinearCrossEntropyOptions"
        if not isinstance(self.allow_retain_graph, bool):
            raise TypeError(
                f"{where}: allow_retain_graph must be a bool; got {self.allow_retain_graph!r}"
            )
        if self.acc_policy not in _ACC_POLICIES:
            raise ValueError(
                f"{where}: acc_policy must be one of {', '.join(map(repr, _ACC_POLICIES))}; "
                f"got {self.acc_policy!r}"
            )
        method = self.chunking_method
        if method is not None and method != "auto":
            name, sep, factor = str(method).partition(":")
            if not sep:
                factor = "1"
            if not (
                isinstance(method, str)
                and name == "aspect_ratio"
                and factor.isdigit()
                and int(factor) > 0
            ):
                raise ValueError(
                    f"{where}: chunking_method must be 'auto', 'aspect_ratio', "
                    f"'aspect_ratio:N' with N >= 1, or None; got {method!r}"
                )
        size = self.batch_chunk_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(
                f"{where}: batch_chunk_size must be a positive int or None; got {size!r}"
            )
        if self.acc_dtype is not None and _dtype_name(self.acc_dtype) not in _ACC_DTYPES:
            raise ValueError(
                f"{where}: acc_dtype must be None or one of {', '.join(_ACC_DTYPES)}; "
                f"got {self.acc_dtype!r}"
            )

    def _resolve(self, dtype_name: str, device_type: str) -> LinearCrossEntropyOptions:
        """The ``'auto'`` sentinels resolved for a call (torch's ``_adjust``, shapes aside)."""
        acc_policy, method = self.acc_policy, self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None  # an explicit size switches the heuristic off
        if acc_policy == "auto" or method == "auto":
            ap, cm = _AUTO_DEFAULTS.get((device_type, dtype_name), _AUTO_FALLBACK)
            acc_policy = ap if acc_policy == "auto" else acc_policy
            method = cm if method == "auto" else method
        return dataclasses.replace(self, acc_policy=acc_policy, chunking_method=method)

    def _chunk_size(self, n: int, in_features: int, n_classes: int) -> int:
        """Rows per chunk for ``n`` rows (after :meth:`_resolve`; torch's ``_adjust``)."""
        size = n if self.batch_chunk_size is None else min(self.batch_chunk_size, n)
        method = self.chunking_method
        if method is not None:
            factor = int(method.split(":", 1)[1]) if ":" in method else 1
            inc = -(-n_classes // in_features)
            want = -(-n // inc)
            picked = min((1 << (want - 1).bit_length()) // factor, n)
            if self.batch_chunk_size is not None and self.batch_chunk_size != picked:
                raise ValueError(
                    f"{_LOSS}: options.batch_chunk_size={self.batch_chunk_size} and "
                    f"chunking_method={method!r} give different chunk sizes "
                    f"({self.batch_chunk_size} vs {picked}) for N={n}, in_features="
                    f"{in_features}, C={n_classes}; pass only one"
                )
            size = picked
        return max(1, size)


_OPTION_FIELDS = tuple(f.name for f in dataclasses.fields(LinearCrossEntropyOptions))


def _as_options(options: Any) -> LinearCrossEntropyOptions | None:
    """Ours as they are; torch's (or any object with the same fields) converted by field name."""
    if options is None or isinstance(options, LinearCrossEntropyOptions):
        return options
    if all(hasattr(options, f) for f in _OPTION_FIELDS):
        return LinearCrossEntropyOptions(**{f: getattr(options, f) for f in _OPTION_FIELDS})
    raise TypeError(
        f"{_LOSS}: options must be None, a lossbridge.LinearCrossEntropyOptions or a "
        f"torch.nn.LinearCrossEntropyOptions; got {type(options).__name__}"
    )


def _device_type(x: Any) -> str:
    """``'cuda'`` for a GPU array of any framework, else ``'cpu'`` (torch's device type as is)."""
    if framework_name(x) == "torch":
        return x.device.type
    device = get_namespace(x)[1]
    text = str(device).lower()
    return "cuda" if "gpu" in text or "cuda" in text else "cpu"


def _call_options(options: Any, input: Any) -> LinearCrossEntropyOptions | None:
    """Options for this call: converted, acc_dtype checked, ``'auto'`` resolved (torch's rules)."""
    options = _as_options(options)
    if options is None:
        return None
    dtype = _dtype_name(getattr(input, "dtype", "float32"))
    if options.acc_dtype is not None:
        acc = _dtype_name(options.acc_dtype)
        if acc != dtype and not (dtype in _HALF and acc == "float32"):
            raise ValueError(
                f"{_LOSS}: options.acc_dtype={acc} does not fit input of dtype {dtype}; "
                "expected None, the input's dtype, or float32 for float16/bfloat16 input"
            )
    return options._resolve(dtype, _device_type(input))


def linear_cross_entropy(
    input: ArrayT,
    linear_weight: ArrayLike,
    target: ArrayLike,
    *,
    linear_bias: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: LinearCrossEntropyOptions | None = None,
    z_loss: float = 0.0,
    softcap: float | None = None,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Cross-entropy of linearly transformed inputs, optionally in chunks of rows.

    Same name, parameters, defaults and numbers as ``torch.nn.functional.linear_cross_entropy``
    (torch 2.13), on every backend; ``z_loss`` and ``softcap`` are lossbridge's. With
    ``options=None`` it is

    .. math::

        \ell = \operatorname{cross\_entropy}(x W^\top + b,\ y)

    (:func:`lossbridge.cross_entropy`'s class weights, ``ignore_index``, label smoothing,
    probability targets and reductions). With ``options`` the same numbers, up to float
    rounding, are computed a chunk of rows at a time: the (N, C) logits are never formed, in
    the forward or in the backward (memory ``O(chunk * C + C * in_features)`` instead of
    ``O(N * C)``). On torch the chunk loop is an ``autograd.Function`` behind custom operators
    (opaque to ``torch.compile``), on JAX a ``jax.custom_vjp`` over a ``lax`` loop, on
    TensorFlow a ``tf.custom_gradient`` over a ``tf.while_loop``; NumPy and array-api-strict
    get the chunked forward.

    Parameters
    ----------
    input : array, shape (in_features,) or (N, in_features)
        The inputs of the linear layer (floating).
    linear_weight : array, shape (C, in_features) or (C, d1, ..., dK, in_features)
        Its weight; K > 0 (a K-dimensional loss, logits of shape (N, C, d1, ..., dK)) needs
        batched ``input``.
    target : array
        Class indices, integer, shape (), (N,) or (N, d1, ..., dK), values in [0, C) or
        ``ignore_index``; or class probabilities, floating, the logits' shape (C,), (N, C) or
        (N, C, d1, ..., dK).
    linear_bias : array, shape (C,) or (C, d1, ..., dK), optional
        The linear layer's bias.
    weight : array, shape (C,), optional
        A weight per class.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides by the summed class weights of the non-ignored targets (index
        targets) or by the number of items (probability targets), as ``cross_entropy``.
    ignore_index : int or None, default None
        Index targets equal to it contribute nothing. None means torch's default, -100, for
        index targets (torch 2.13 maps None to -100: a target of -100 is ignored, any other
        value outside [0, C) is an error); with probability targets it must stay None.
    label_smoothing : float in [0, 1], default 0
    options : LinearCrossEntropyOptions or torch.nn.LinearCrossEntropyOptions, optional
        Compute in chunks of rows (None: the logits at once). A K-dimensional
        ``linear_weight`` falls back to the reference path with a ``UserWarning``, as torch's
        does; every other configuration (label smoothing, class weights, probability targets,
        integer targets of any dtype, ``z_loss``, ``softcap``) is chunked, where torch's own
        chunked op falls back for several of them.
    z_loss : float >= 0, default 0
        PaLM's auxiliary z-loss (Chowdhery et al. 2022, sec. 5): :math:`z \cdot
        \operatorname{logsumexp}(\text{logits})^2` per item, ADDED to the item's loss,
        weighted like it (by its class weight; ignored items get none) and reduced with it,
        so ``'mean'`` averages it exactly as it averages the cross-entropy. PaLM uses
        ``1e-4``. The z part alone is the difference of a call with and without ``z_loss``.
    softcap : float > 0 or None, default None
        Gemma 2's logit soft-capping: logits :math:`\leftarrow c \tanh(\text{logits} / c)`
        before the cross-entropy and the z-loss (Gemma 2 uses ``c = 30``). None: off.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, as
        ``cross_entropy``'s: the sum of the class weights of the non-ignored targets (their number
        without ``weight``); probability targets: the number of items (the z-loss is divided by the
        same count). Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and the
        shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss of shape (), (N,) or
        (N, d1, ..., dK).

    Raises
    ------
    ValueError
        Shapes that do not fit (each named with what was expected), an index out of [0, C),
        ``ignore_index`` with probability targets, ``label_smoothing`` outside [0, 1], a
        negative ``z_loss``, a ``softcap`` that is not positive, options whose
        ``batch_chunk_size`` and ``chunking_method`` disagree or whose ``acc_dtype`` does not
        fit the input.
    TypeError
        A non-floating ``input``, a non-integer index target, options of another type.

    Notes
    -----
    Chunk boundaries change nothing but the order of float additions: each row's loss is
    computed from its own logits whatever the chunk, and only the reduction over rows and the
    gradient of ``linear_weight``/``linear_bias`` (summed over chunks) are accumulated in a
    different order: a relative difference of a few units in the last place per chunk (the
    conformance suite measures at most 2e-7 (values) and 5e-7 (gradients) in float32 and 5e-16
    in float64 against torch's reference path, chunk sizes 1, 3 and whole included).

    float16/bfloat16 inputs are computed in float32 and the result is cast back once, on every
    path (torch's ``'accurate'`` policy), so ``options.acc_policy`` changes nothing here.

    The chunked torch path computes the gradients of ``'mean'`` and ``'sum'`` in the forward
    pass (as torch's own chunked op does) and, like it, supports first-order reverse mode
    only: no double backward, forward mode or ``torch.func`` transforms; the reference path
    supports all of them.

    References
    ----------
    PyTorch documentation, ``torch.nn.functional.linear_cross_entropy`` (2.13); Chowdhery et
    al., "PaLM: Scaling Language Modeling with Pathways", 2022, sec. 5 (z-loss); Gemma Team,
    "Gemma 2: Improving Open Language Models at a Practical Size", 2024, sec. 2 (logit
    soft-capping); Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models",
    2024 (why chunk).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 1.0]])
    >>> w = np.array([[0.1, 0.2], [0.3, -0.1], [-0.2, 0.4], [0.0, 0.1]])
    >>> y = np.array([2, 0, -100])  # -100: ignored by default
    >>> ref = lb.linear_cross_entropy(x, w, y)
    >>> chunked = lb.linear_cross_entropy(
    ...     x, w, y, options=lb.LinearCrossEntropyOptions(batch_chunk_size=2))
    >>> bool(np.isclose(ref, chunked))
    True
    >>> logits = x[:2] @ w.T
    >>> p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    >>> bool(np.isclose(ref, -(np.log(p[0, 2]) + np.log(p[1, 0])) / 2))
    True
    """
    return _linear_cross_entropy(
        input,
        linear_weight,
        target,
        linear_bias=linear_bias,
        weight=weight,
        reduction=reduction,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        options=_call_options(options, input),
        z_loss=z_loss,
        softcap=softcap,
        denominator=denominator,
    )


# the public entry names the errors of both layers (the options are resolved before the
# half-precision rule casts the input, so the rule decorates the inner function)
linear_cross_entropy = public_entry(linear_cross_entropy, "linear_cross_entropy")


@half_precision
def _linear_cross_entropy(
    input: Any,
    linear_weight: Any,
    target: Any,
    *,
    linear_bias: Any,
    weight: Any,
    reduction: Reduction,
    ignore_index: int | None,
    label_smoothing: float,
    options: LinearCrossEntropyOptions | None,
    z_loss: float,
    softcap: float | None,
    denominator: Any = None,
) -> Any:
    xp, input, linear_weight, target, linear_bias, weight = setup(
        input, linear_weight=linear_weight, target=target, linear_bias=linear_bias, weight=weight
    )
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=_LOSS)
    eps = check_real(label_smoothing, "label_smoothing", loss=_LOSS, low=0.0, high=1.0)
    z = check_real(z_loss, "z_loss", loss=_LOSS, finite=True, low=0.0)
    cap = None
    if softcap is not None:
        what = "c in c tanh(logits / c), or None"
        cap = check_real(
            softcap, "softcap", loss=_LOSS, what=what, finite=True, low=0.0, strict=True
        )
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral)
    ):
        raise TypeError(f"{_LOSS}: ignore_index must be an int or None; got {ignore_index!r}")

    n_classes, out_features, batch = _check_shapes(xp, input, linear_weight, linear_bias)
    check_floating(xp, linear_weight, "linear_weight")
    logits_shape = (*batch, n_classes, *out_features)
    prob = tuple(target.shape) == logits_shape
    if prob:
        if not xp.isdtype(target.dtype, "real floating"):
            raise TypeError(
                f"{_LOSS}: target has the logits' shape {shape_str(logits_shape)}, so it is read "
                f"as class probabilities and must be floating; got {target.dtype} (class "
                f"indices have shape {shape_str((*batch, *out_features))})"
            )
        if ignore_index is not None:
            raise ValueError(
                f"{_LOSS}: ignore_index={ignore_index} was given but target holds class "
                f"probabilities (shape {shape_str(target.shape)}); ignore_index applies to "
                "class indices only: leave it None"
            )
    else:
        want = (*batch, *out_features)
        if tuple(target.shape) != want:
            raise ValueError(
                f"{_LOSS}: target has shape {shape_str(target.shape)}; expected class indices "
                f"of shape {shape_str(want)} or class probabilities of shape "
                f"{shape_str(logits_shape)} (input {shape_str(input.shape)}, linear_weight "
                f"{shape_str(linear_weight.shape)})"
            )
        check_integer(xp, target, "target", f"class indices for {_LOSS}")
    ii = -100 if ignore_index is None else int(ignore_index)
    if weight is not None:
        check_floating(xp, weight, "weight")
        if tuple(weight.shape) != (n_classes,):
            raise ValueError(
                f"{_LOSS}: weight has shape {shape_str(weight.shape)}; expected ({n_classes},), "
                f"one weight per class of linear_weight {shape_str(linear_weight.shape)}"
            )

    if options is not None and out_features:
        warnings.warn(
            f"{_LOSS}: options ignored: the chunked path needs a linear_weight of shape "
            f"(C, in_features); got out_features={tuple(out_features)} (linear_weight "
            f"{shape_str(linear_weight.shape)}), computed by the reference path",
            UserWarning,
            stacklevel=_user_stacklevel(),
        )
        options = None
    if options is None:
        return _reference(
            xp,
            input,
            linear_weight,
            target,
            linear_bias,
            weight,
            prob,
            logits_shape,
            reduction=reduction,
            ignore_index=ii,
            label_smoothing=eps,
            z_loss=z,
            softcap=cap,
            over=over,
        )

    if not prob:
        check_class_indices(xp, target, n_classes, ii)
    floats = [input, linear_weight, linear_bias, weight, target if prob else None]
    input, linear_weight, linear_bias, weight, t = promote_floats(xp, *floats)
    target = t if prob else target
    if not batch:
        input = xp.expand_dims(input, axis=0)
        target = xp.expand_dims(target, axis=0)
    if over is COUNT:  # the count of cross_entropy's mean, without forming the logits
        return xp.sum(_item_weight(xp, input.dtype, target, weight, prob, ii))
    n = input.shape[0]
    chunk = options._chunk_size(n, input.shape[1], n_classes)
    out = reduce_rows(
        xp,
        input,
        linear_weight,
        linear_bias,
        target,
        weight,
        reduction="sum" if over is not None else reduction,
        ignore_index=ii,
        label_smoothing=eps,
        z_loss=z,
        softcap=cap,
        chunk_size=chunk,
        allow_retain_graph=options.allow_retain_graph,
    )
    if reduction == "none" and not batch:
        out = xp.reshape(out, ())
    if over is not None:  # the summed numerator over the caller's count
        return out / (xp.astype(over, out.dtype) if hasattr(over, "dtype") else over)
    return out


def _user_stacklevel() -> int:
    """``stacklevel`` of the first frame outside lossbridge (the user's call)."""
    frame: FrameType | None
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("lossbridge."):
        frame, level = frame.f_back, level + 1
    return level


def _check_shapes(
    xp: Any, input: Any, linear_weight: Any, linear_bias: Any
) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """``(C, (d1, ..., dK), batch shape)`` after torch's shape checks, with our messages."""
    if input.ndim not in (1, 2):
        raise ValueError(
            f"{_LOSS}: input must have shape (in_features,) or (N, in_features); got "
            f"{shape_str(input.shape)}"
        )
    if linear_weight.ndim < 2:
        raise ValueError(
            f"{_LOSS}: linear_weight must have shape (C, in_features) or (C, d1, ..., dK, "
            f"in_features); got {shape_str(linear_weight.shape)}"
        )
    in_features = input.shape[-1]
    if linear_weight.shape[-1] != in_features:
        raise ValueError(
            f"{_LOSS}: linear_weight has shape {shape_str(linear_weight.shape)} but input has "
            f"shape {shape_str(input.shape)}; expected their last axes (in_features) equal"
        )
    n_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None:
        check_floating(xp, linear_bias, "linear_bias")
        if tuple(linear_bias.shape) != (n_classes, *out_features):
            raise ValueError(
                f"{_LOSS}: linear_bias has shape {shape_str(linear_bias.shape)}; expected "
                f"{shape_str((n_classes, *out_features))}, linear_weight's shape without its "
                "last axis"
            )
    batch = tuple(input.shape[:-1])
    if out_features and not batch:
        raise ValueError(
            f"{_LOSS}: a K-dimensional linear_weight {shape_str(linear_weight.shape)} needs "
            f"batched input of shape (N, {in_features}); got {shape_str(input.shape)}"
        )
    return n_classes, out_features, batch


def _reference(
    xp: Any,
    input: Any,
    linear_weight: Any,
    target: Any,
    linear_bias: Any,
    weight: Any,
    prob: bool,
    logits_shape: tuple[int, ...],
    *,
    reduction: Reduction,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    over: Any,
) -> Any:
    """torch's reference: the logits formed whole, then :func:`cross_entropy` (+ the z-loss)."""
    input, linear_weight, linear_bias = promote_floats(xp, input, linear_weight, linear_bias)
    n_out = math.prod(logits_shape[input.ndim - 1 :])
    w2 = xp.reshape(linear_weight, (n_out, input.shape[-1]))
    logits = xp.matmul(input, xp.matrix_transpose(w2))
    if linear_bias is not None:
        logits = logits + xp.reshape(linear_bias, (n_out,))
    logits = xp.reshape(logits, logits_shape)
    if softcap is not None:
        logits = softcap * xp.tanh(logits / softcap)
    out = cross_entropy(
        logits,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        denominator=over,
    )
    if z_loss == 0.0 or over is COUNT:
        return out
    return out + _z_term(xp, logits, target, weight, prob, reduction, ignore_index, z_loss, over)


def _z_term(
    xp: Any,
    logits: Any,
    target: Any,
    weight: Any,
    prob: bool,
    reduction: str,
    ignore_index: int,
    z_loss: float,
    over: Any = None,
) -> Any:
    """``z * lse^2`` per item, weighted like the item's cross-entropy and reduced like it."""
    ca = 0 if logits.ndim == 1 else 1
    lse = logsumexp(xp, logits, ca)
    item_weight = _item_weight(xp, lse.dtype, target, weight, prob, ignore_index)
    z = z_loss * item_weight * lse * lse
    if not prob:
        # an ignored item's infinite lse gives 0
        z = xp.where(target != ignore_index, z, xp.zeros_like(z))
    if reduction == "none":
        return z
    if reduction == "sum":
        return xp.sum(z)
    if over is not None:
        return xp.sum(z) / (xp.astype(over, z.dtype) if hasattr(over, "dtype") else over)
    return xp.sum(z) / xp.sum(item_weight)


def _item_weight(
    xp: Any, dtype: Any, target: Any, weight: Any, prob: bool, ignore_index: int
) -> Any:
    """Each item's weight in cross_entropy's mean: 1 (probability targets), else its class's
    weight (1 without ``weight``), 0 where ignored; summed, the mean's count."""
    if prob:
        ca = 0 if target.ndim == 1 else 1
        return xp.ones_like(xp.sum(xp.astype(target, dtype), axis=ca))
    valid = target != ignore_index
    if weight is None:
        return xp.astype(valid, dtype)
    safe = xp.where(valid, target, xp.zeros_like(target))
    w = xp.astype(xp.reshape(xp.take(weight, xp.reshape(safe, (-1,)), axis=0), safe.shape), dtype)
    return xp.where(valid, w, xp.zeros_like(w))
