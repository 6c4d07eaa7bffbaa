"""``torch.nn``-style loss classes over lossbridge's core functions (torch 2.13's ``torch.nn``).

Each class has the constructor of its ``torch.nn`` namesake (same parameters, order, defaults
and attribute names, the legacy ``size_average``/``reduce`` included) and a :meth:`forward`
with torch's argument names; calling an instance calls :meth:`forward`. A class is a thin
wrapper: :meth:`forward` calls the core function of the same loss (``CrossEntropyLoss`` calls
:func:`lossbridge.cross_entropy`, ...) with the stored parameters, so the numbers are the core's,
which follow ``torch.nn.functional``. The inputs may be arrays of any supported framework:

>>> import numpy as np
>>> from lossbridge.nn import CrossEntropyLoss
>>> loss = CrossEntropyLoss(weight=[1.0, 2.0, 0.5], label_smoothing=0.1)
>>> float(loss(np.array([[2.0, 0.5, -1.0]]), np.array([1])))  # doctest: +ELLIPSIS
1.656...

torch modules: an object made while torch is imported is a ``torch.nn.Module`` (an instance
of a subclass of its class and ``torch.nn.Module``, made on the fly; whichever of
``lossbridge.nn`` and torch was imported first): ``state_dict``, ``load_state_dict``, ``.to()``,
``.double()``, ``.cuda()``, hooks, ``add_module``, ``torch.compile`` and ``torch.func`` work as
on torch's module. A ``weight`` or ``pos_weight`` given as a torch tensor is a buffer under
torch's name, so ``state_dict()`` equals that of ``torch.nn``'s class built alike and a
checkpoint loads in either direction. An object made before torch is imported stays a plain
object (callable, picklable): make the losses after ``import torch`` to put them in a model.

Weights of another framework (``weight``, ``pos_weight``: a NumPy, JAX or TensorFlow array, a
list) are kept as given and converted at each call to the input's framework, dtype and device:
a torch weight works on TensorFlow logits, a float32 weight on float64 input. On a module
they are saved in ``state_dict()`` under torch's name (as a CPU tensor) but are not buffers:
``.to()`` and ``.double()`` leave them as they are (each call casts them to the input's dtype);
loading a ``state_dict`` makes them buffers holding the loaded values.

Differences from ``torch.nn`` (which would be bugs anywhere else):

* invalid constructor arguments (``reduction``, ``label_smoothing``, ``margin``, ``p``, ...)
  raise when the object is built, with a message naming the argument; torch defers most of
  them to the first call;
* ``repr`` is torch's (``CrossEntropyLoss()``), except that the default ``distance_function``
  of :class:`TripletMarginWithDistanceLoss` is :func:`lossbridge.pairwise_distance`, a
  function, so it is not shown as a ``PairwiseDistance()`` child module.

Global means (gradient accumulation, data parallelism): every :meth:`forward` takes a
keyword-only ``denominator=`` (a Python number or a 0-d array of the input's framework, traced
values included), passed to the core loss: with ``reduction='mean'`` (:class:`KLDivLoss`:
``'batchmean'`` too) the loss is the shard's numerator (weighted, ignored targets left out, as
the mean sums it) divided by ``denominator`` instead of the shard's own count; any other
reduction raises ``ValueError``. ``lossbridge.mean_denominator(criterion, *args)`` returns the
count the criterion's mean divides by for those arguments (its ``weight``, ``ignore_index``
and other settings used), as a 0-d array; sum it over the shards into ``D`` and call
``criterion(input, target, denominator=D)`` on each shard: the shards' losses add up to the
full batch's mean, gradients too.

>>> import lossbridge
>>> loss = CrossEntropyLoss(weight=[1.0, 2.0, 0.5], ignore_index=0)
>>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.5]])
>>> y = np.array([1, 0, 2])  # the second item is ignored
>>> count = lossbridge.mean_denominator
>>> d = count(loss, x[:2], y[:2]) + count(loss, x[2:], y[2:])
>>> print(float(d))  # weight[1] + weight[2]
2.5
>>> parts = loss(x[:2], y[:2], denominator=d) + loss(x[2:], y[2:], denominator=d)
>>> bool(np.isclose(parts, loss(x, y), rtol=1e-15, atol=0))
True

``LinearCrossEntropyLoss`` owns its linear layer, as torch's does: a ``torch.nn.Linear``
submodule while torch is imported, NumPy parameters otherwise (its docstring). Left out:
``AdaptiveLogSoftmaxWithLoss`` (an adaptive softmax layer, not a loss).

``import lossbridge.nn`` imports no framework.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, SupportsIndex

from lossbridge._reduction import COUNT
from lossbridge._typing import ArrayLike, ArrayT, KLDivReduction, Reduction
from lossbridge._validation import (
    REDUCTIONS,
    check_int,
    check_real,
    check_reduction,
    name_public_errors,
    shape_str,
)
from lossbridge.backends import (
    _torch_nn,
    asarray_on,
    framework_name,
    get_namespace,
    half_plan,
    is_half,
    same_device,
)
from lossbridge.classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    kl_div,
    nll_loss,
)
from lossbridge.ctc import ctc_loss
from lossbridge.margin import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    pairwise_distance,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from lossbridge.regression import (
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)

if TYPE_CHECKING:
    from types import FrameType

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CTCLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "LinearCrossEntropyLoss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "NLLLoss2d",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
]

_LEGACY = "size_average and reduce args will be deprecated, please use reduction='{}' instead."


def _legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """torch's ``_Reduction.legacy_get_string``: the reduction the legacy flags mean, warned."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    warnings.warn(_LEGACY.format(ret), UserWarning, stacklevel=_caller_level())
    return ret


def _caller_level() -> int:
    """``stacklevel`` pointing a warning at the first frame outside lossbridge."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and _in_lossbridge(frame.f_globals.get("__name__", "")):
        frame, level = frame.f_back, level + 1
    return level


def _in_lossbridge(module: str) -> bool:
    return module == "lossbridge" or module.startswith("lossbridge.")


def _bool(value: Any, name: str) -> bool:
    """A bool (or an integer, as torch takes it); the public entry prefixes the class's name."""
    if not isinstance(value, (bool, numbers.Integral)):
        raise TypeError(f"{name} must be a bool; got {value!r}")
    return bool(value)


def _ndim(value: Any) -> int:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return len(tuple(shape))
    import numpy as np

    return np.ndim(value)


def _to_numpy(x: Any, framework: str) -> Any:
    """A host (NumPy) copy of an array of another framework than the input's."""
    import numpy as np

    if framework == "torch":
        return x.detach().cpu().numpy()
    if framework == "tensorflow":
        return x.numpy()
    try:
        return np.array(x)  # a copy: a read-only view of a JAX buffer upsets torch
    except Exception:  # noqa: BLE001 - e.g. array-api-strict on a non-CPU device
        return np.from_dlpack(x)


def _on_input(value: Any, input: Any) -> Any:
    """``value`` (an array of any framework, NumPy, a list) on ``input``'s namespace, device
    and floating dtype; ``None`` stays ``None``.

    Under ``torch.autocast`` a half input's weight goes to float32, not to the half dtype:
    torch computes its losses in float32 there (or keeps the half dtype on the CPU for
    ``multilabel_soft_margin_loss``, promoting with a float32 weight), so the weight is never
    rounded to half. An array of another framework goes through NumPy (a weight is data, not a
    variable: torch does not differentiate ``weight`` either); one of the input's framework on
    another device is moved there.
    """
    if value is None or not hasattr(input, "dtype"):
        return value  # host input (a list): the core converts both
    xp, device = get_namespace(input)
    fw, fw_input = framework_name(value), framework_name(input)
    if fw is not None and fw != "numpy" and fw != fw_input:
        value = _to_numpy(value, fw)
    elif fw is not None and fw == fw_input and device is not None and fw != "tensorflow":
        _, here = get_namespace(value)
        if here is not None and not same_device(here, device):
            import array_api_compat

            value = array_api_compat.to_device(value, device)
    arr = asarray_on(value, xp, device)
    dtype = input.dtype
    half = fw_input is not None and is_half(input, fw_input)  # NumPy's isdtype rejects bfloat16
    plan = half_plan(input) if half else None
    if plan is not None and plan[1] is not None:
        dtype = xp.float32  # under autocast torch's loss takes a float32 weight as it is
    if (half or xp.isdtype(dtype, "real floating")) and arr.dtype != dtype:
        arr = xp.astype(arr, dtype)
    return arr


class _Plain:
    """The base of a loss object made while torch is not imported (``torch.nn.Module``'s place).

    Calling the object calls :meth:`forward` (as ``torch.nn.Module.__call__`` does, without
    hooks); its ``repr`` is torch's for a module without children.
    """

    # the loss class's, which comes before this base in the made class's MRO
    forward: Callable[..., Any]
    extra_repr: Callable[[], str]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call :meth:`forward`."""
        return self.forward(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _module_base() -> type:
    """``torch.nn.Module`` while torch is imported, else :class:`_Plain` (torch never imported)."""
    return _torch_nn.loaded_module_class() or _Plain


def _on_base(cls: type, base: type) -> type:
    """``cls``, or the subclass of ``cls`` and ``base`` (``torch.nn.Module`` or :class:`_Plain`)
    named as ``cls`` that its objects are instances of.

    Made once per class and base and kept on the class (``_on_module`` / ``_on_plain``). Those
    of every public class are made at once: on the module's import for the base of that moment
    (``torch.nn.Module`` when torch is imported), else on the first object made on the other
    base. A loss made inside ``torch.compile`` then finds its class made, and Dynamo's guard
    on it holds (no recompilation).
    """
    if issubclass(cls, _Plain) or issubclass(cls, base):
        return cls  # already made on a base (or a user's class deriving from torch.nn.Module)
    attr = "_on_plain" if base is _Plain else "_on_module"
    made = cls.__dict__.get(attr)
    if made is None:
        for c in (*_PUBLIC, cls) if cls in _PUBLIC else (cls,):
            if attr not in c.__dict__:
                namespace = {
                    "__module__": c.__module__,
                    "__qualname__": c.__qualname__,
                    "__doc__": c.__doc__,
                    "_public_class": c,
                }
                setattr(c, attr, type(c.__name__, (c, base), namespace))
        made = cls.__dict__[attr]
    return made


def _restore(cls: type, module: bool) -> Any:
    """An empty object of ``cls`` for pickle and ``copy`` (its state is set afterwards)."""
    return object.__new__(_on_base(cls, _torch_nn.module_class() if module else _Plain))


def _is_module(obj: object) -> bool:
    return not isinstance(obj, _Plain)


def _public_name(obj: object) -> str:
    """``"nn.<Class>"`` for the ``lossbridge.nn`` class ``obj`` is an object of (the class
    made on a base, or a user's subclass, names its public class)."""
    return next(
        f"nn.{c.__name__}"
        for c in type(obj).__mro__
        if c.__module__ == __name__ and c.__name__ in __all__
    )


def _as_torch(value: Any) -> Any:
    """A weight of another framework (or NumPy, or a list) as a CPU torch tensor (a copy)."""
    import numpy as np

    fw = framework_name(value)
    return _torch_nn.as_torch(np.asarray(value if fw in (None, "numpy") else _to_numpy(value, fw)))


class _Base:
    """The base of every class: the reduction (legacy flags mapped as torch maps them), repr,
    weights, pickling and ``state_dict``.

    An object is made, whatever its class, as an instance of a subclass of its class and
    ``torch.nn.Module`` when torch is imported at that moment (``state_dict``, ``.to()``,
    hooks, ``add_module``: the weights given as torch tensors are buffers), and of
    :class:`_Plain` otherwise, so that ``import lossbridge.nn`` and a NumPy-only use never
    load torch. A type checker sees neither base: ``torch.nn.Module``'s methods called
    here carry a ``type: ignore`` naming it, and each public class declares
    ``__call__ = forward`` for type checkers only (at run time the base's ``__call__`` calls
    :meth:`forward`, with torch's hooks on a module), so that a call has :meth:`forward`'s
    types: the caller's array type in, the same type out.
    """

    #: One of :attr:`_reductions` (:class:`_Loss` and :class:`KLDivLoss` say which).
    reduction: str
    #: Reductions the class accepts.
    _reductions: ClassVar[tuple[str, ...]] = REDUCTIONS
    #: Weights given at construction, in torch's buffer order.
    _weights: ClassVar[tuple[str, ...]] = ()
    # AutoGraph calls an object carrying this attribute as it is (see lossbridge.__init__).
    autograph_info__: ClassVar[dict[str, Any]] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(_on_base(cls, _module_base()))

    def __init__(self, size_average: bool | None, reduce: bool | None, reduction: str) -> None:
        super().__init__()  # torch.nn.Module's, when torch was imported
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        elif reduction == "elementwise_mean":
            warnings.warn(
                "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                UserWarning,
                stacklevel=_caller_level(),
            )
            reduction = "mean"
        self.reduction = check_reduction(reduction, self._reductions)

    def extra_repr(self) -> str:
        """Extra text inside the ``repr``'s parentheses: empty, as for torch's losses."""
        return ""

    def _mean_denominator(self, *args: Any, **kwargs: Any) -> Any:
        """``lossbridge.mean_denominator(criterion, *args, **kwargs)``: the count this object's
        ``'mean'`` (or ``'batchmean'``) divides by for a :meth:`forward` with these arguments.

        :meth:`forward` itself computes it (the core loss with its private ``COUNT``
        denominator), so the count is the one the mean uses: the object's ``weight``,
        ``ignore_index``, ``blank`` and other settings apply. torch's hooks are not run.
        """
        name = type(self).__name__
        if self.reduction not in ("mean", "batchmean"):
            raise ValueError(
                f"{name}: mean_denominator needs a criterion with reduction='mean'"
                + (" or 'batchmean'" if "batchmean" in self._reductions else "")
                + f" (the count its mean divides by); got reduction={self.reduction!r}"
            )
        if "denominator" in kwargs:
            raise TypeError(
                f"{name}: mean_denominator takes no denominator= (it returns the count)"
            )
        # each public class's forward (the type checker sees none on this base)
        return self.forward(*args, denominator=COUNT, **kwargs)  # type: ignore[attr-defined]

    def _keep_weight(self, name: str, value: Any) -> None:
        """Keep a weight given at construction: a buffer when it is a torch tensor (or None)
        and the object a ``torch.nn.Module``, as torch registers it; else as given."""
        if _is_module(self) and (value is None or _torch_nn.is_tensor(value)):
            self.register_buffer(name, value)  # type: ignore[attr-defined]  # torch.nn.Module's
        else:
            setattr(self, name, value)

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        # The object's class is made on the fly: pickle and copy name the public class.
        public = type(self).__dict__.get("_public_class", type(self))
        if _is_module(self):
            state = self.__getstate__()  # type: ignore[attr-defined]  # torch.nn.Module's
        else:
            state = dict(self.__dict__)
        return (_restore, (public, _is_module(self)), state)

    # torch.nn.Module's state-dict hooks (used only on a Module): a weight of another framework
    # kept as given is saved under torch's name too, and becomes a buffer when one is loaded.

    def _save_to_state_dict(
        self, destination: dict[str, Any], prefix: str, keep_vars: bool
    ) -> None:
        # torch.nn.Module's (the type checker sees no base)
        super()._save_to_state_dict(destination, prefix, keep_vars)  # type: ignore[misc]
        held = {n: self.__dict__[n] for n in self._weights if self.__dict__.get(n) is not None}
        if held:
            for n in self._weights:  # torch's order
                if n in held:
                    destination[prefix + n] = _as_torch(held[n])
                elif prefix + n in destination:
                    destination[prefix + n] = destination.pop(prefix + n)

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        for n in self._weights:
            value = self.__dict__.get(n)
            if value is None:
                continue
            if prefix + n in state_dict:
                del self.__dict__[n]  # becomes a buffer, filled (shape-checked) below
                self._keep_weight(n, _as_torch(value))
            elif strict:
                missing_keys.append(prefix + n)
        super()._load_from_state_dict(  # type: ignore[misc]  # torch.nn.Module's
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class _Loss(_Base):
    """A loss with torch's three reductions (every class but :class:`KLDivLoss`)."""

    reduction: Reduction

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    """A loss with a class or element ``weight`` given at construction."""

    _weights = ("weight",)
    weight: ArrayLike | None

    def __init__(
        self,
        weight: ArrayLike | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self._keep_weight("weight", weight)


# ------------------------------------------------------------------------------------------
# Regression and likelihood losses
# ------------------------------------------------------------------------------------------


class L1Loss(_Loss):
    r"""Mean absolute error, :math:`\ell = |x - y|`; ``torch.nn.L1Loss``.

    Parameters
    ----------
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.l1_loss`: any shape, ``target``
    broadcast against ``input`` with a warning.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import L1Loss
    >>> x, y = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 1.0])
    >>> print(float(L1Loss(reduction="sum")(x, y)))  # 0.5 + 0 + 2
    2.5
    >>> bool(np.isclose(L1Loss()(x, y), np.abs(x - y).mean()))
    True
    """

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of ``input`` against ``target`` (same shape)."""
        return l1_loss(input, target, reduction=self.reduction, denominator=denominator)

    if TYPE_CHECKING:
        __call__ = forward


class MSELoss(_Loss):
    r"""Mean squared error, :math:`\ell = (x - y)^2`; ``torch.nn.MSELoss``.

    Parameters
    ----------
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.mse_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import MSELoss
    >>> x, y = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 1.0])
    >>> np.round(MSELoss(reduction="none")(x, y), 4).tolist()  # (x - y)**2
    [0.25, 0.0, 4.0]
    >>> bool(np.isclose(MSELoss()(x, y), ((x - y) ** 2).mean()))
    True
    """

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of ``input`` against ``target`` (same shape)."""
        return mse_loss(input, target, reduction=self.reduction, denominator=denominator)

    if TYPE_CHECKING:
        __call__ = forward


class HuberLoss(_Loss):
    r"""Huber loss, quadratic below ``delta`` and linear above; ``torch.nn.HuberLoss``.

    :math:`\ell = \tfrac12 d^2` if :math:`|d| < \delta`, else
    :math:`\delta (|d| - \tfrac12 \delta)`, :math:`d = x - y`.

    Parameters
    ----------
    reduction : {'mean', 'sum', 'none'}, default 'mean'
    delta : float > 0, default 1.0

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.huber_loss`. ``HuberLoss(delta=d)``
    equals ``d * SmoothL1Loss(beta=d)``; Keras's ``Huber`` also averages over the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import HuberLoss, SmoothL1Loss
    >>> x, y = np.array([0.5, 3.0]), np.zeros(2)  # 0.5 * 0.5**2 and 2 * (3 - 0.5 * 2)
    >>> print(round(float(HuberLoss(delta=2.0)(x, y)), 4))
    2.0625
    >>> bool(np.isclose(HuberLoss(delta=2.0)(x, y), 2.0 * SmoothL1Loss(beta=2.0)(x, y)))
    True
    """

    def __init__(self, reduction: Reduction = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = check_real(delta, "delta", loss="nn.HuberLoss", low=0.0, strict=True)

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of ``input`` against ``target`` (same shape)."""
        return huber_loss(
            input, target, reduction=self.reduction, denominator=denominator, delta=self.delta
        )

    if TYPE_CHECKING:
        __call__ = forward


class SmoothL1Loss(_Loss):
    r"""Smooth L1 loss; ``torch.nn.SmoothL1Loss``.

    :math:`\ell = \tfrac12 d^2 / \beta` if :math:`|d| < \beta`, else
    :math:`|d| - \tfrac12 \beta`, :math:`d = x - y` (``beta = 0``: the L1 loss).

    Parameters
    ----------
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
    beta : float >= 0, default 1.0

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.smooth_l1_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import SmoothL1Loss
    >>> x, y = np.array([0.2, 3.0]), np.zeros(2)  # 0.5 * 0.2**2 / 0.5 and 3 - 0.5 * 0.5
    >>> np.round(SmoothL1Loss(beta=0.5, reduction="none")(x, y), 4).tolist()
    [0.04, 2.75]
    """

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = check_real(beta, "beta", loss="nn.SmoothL1Loss", low=0.0)

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of ``input`` against ``target`` (same shape)."""
        return smooth_l1_loss(
            input, target, reduction=self.reduction, denominator=denominator, beta=self.beta
        )

    if TYPE_CHECKING:
        __call__ = forward


class PoissonNLLLoss(_Loss):
    r"""Poisson negative log-likelihood; ``torch.nn.PoissonNLLLoss``.

    :math:`\ell = e^{x} - y x` (``log_input=True``) or :math:`x - y \log(x + \epsilon)`, plus
    Stirling's term :math:`y \log y - y + \tfrac12 \log(2 \pi y)` for :math:`y > 1` when
    ``full``.

    Parameters
    ----------
    log_input : bool, default True
        Whether the prediction is the log-rate (else the rate).
    full : bool, default False
        Add Stirling's approximation of :math:`\log y!`.
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    eps : float, default 1e-8
        Added to the rate inside the log when ``log_input=False``.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(log_input, target)`` (torch's argument names: the first is the prediction,
    whatever ``log_input`` says) calls :func:`lossbridge.poisson_nll_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import PoissonNLLLoss
    >>> rate, counts = np.array([1.0, 2.0, 0.5]), np.array([1.0, 3.0, 0.0])
    >>> loss = PoissonNLLLoss(log_input=False)(rate, counts)  # the prediction is the rate
    >>> bool(np.isclose(loss, (rate - counts * np.log(rate + 1e-8)).mean()))
    True
    >>> print(round(float(PoissonNLLLoss(log_input=False, full=True)(rate, counts)), 4))
    1.0615
    """

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average: bool | None = None,
        eps: float = 1e-8,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = _bool(log_input, "log_input")
        self.full = _bool(full, "full")
        self.eps = check_real(eps, "eps", loss="nn.PoissonNLLLoss")

    def forward(
        self, log_input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of the prediction ``log_input`` (log-rate or rate) against counts."""
        return poisson_nll_loss(
            log_input,
            target,
            log_input=self.log_input,
            full=self.full,
            eps=self.eps,
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


class GaussianNLLLoss(_Loss):
    r"""Gaussian negative log-likelihood; ``torch.nn.GaussianNLLLoss``.

    :math:`\ell = \tfrac12 (\log \max(v, \epsilon) + (x - y)^2 / \max(v, \epsilon))`, plus
    :math:`\tfrac12 \log 2\pi` when ``full``.

    Parameters
    ----------
    full : bool, default False
    eps : float, default 1e-6
        Lower clamp of the variance (the gradient passes through the clamp, as in torch).
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    Keyword-only, as in torch 2.13. ``forward(input, target, var)`` calls
    :func:`lossbridge.gaussian_nll_loss`; ``var`` may be an array (the input's shape, or
    with one dimension fewer or a last dimension of 1) or a Python float.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import GaussianNLLLoss
    >>> mean, y, var = np.array([1.0, 2.0]), np.array([1.5, 1.0]), np.array([0.5, 2.0])
    >>> loss = GaussianNLLLoss(full=True)(mean, y, var)
    >>> nll = 0.5 * (np.log(var) + (mean - y) ** 2 / var + np.log(2 * np.pi))
    >>> bool(np.isclose(loss, nll.mean()))
    True
    """

    def __init__(
        self, *, full: bool = False, eps: float = 1e-6, reduction: Reduction = "mean"
    ) -> None:
        super().__init__(None, None, reduction)
        self.full = _bool(full, "full")
        self.eps = check_real(eps, "eps", loss="nn.GaussianNLLLoss")

    def forward(
        self,
        input: ArrayT,
        target: ArrayLike,
        var: ArrayLike,
        *,
        denominator: float | ArrayLike | None = None,
    ) -> ArrayT:
        """The loss of the mean ``input`` and variance ``var`` against ``target``."""
        return gaussian_nll_loss(
            input,
            target,
            var,
            full=self.full,
            eps=self.eps,
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


# ------------------------------------------------------------------------------------------
# Classification losses
# ------------------------------------------------------------------------------------------


class NLLLoss(_WeightedLoss):
    r"""Negative log-likelihood of log-probabilities; ``torch.nn.NLLLoss``.

    :math:`\ell_n = -w_{y_n} x_{n, y_n}`; ``'mean'`` divides by :math:`\sum_n w_{y_n}` over
    the items whose target is not ``ignore_index`` (NaN when every target is ignored).

    Parameters
    ----------
    weight : array, shape (C,), optional
        A weight per class, of any framework (or NumPy, or a list): converted at each call
        to the input's framework, dtype and device.
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    ignore_index : int, default -100
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.nll_loss`: ``input`` of shape (C,),
    (N, C) or (N, C, d1, ...), integer ``target`` of shape (), (N,) or (N, d1, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import NLLLoss
    >>> log_p = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.25, 0.25]]))
    >>> y = np.array([0, 2, 1])
    >>> loss = NLLLoss(ignore_index=1)(log_p, y)  # the third item (class 1) is left out
    >>> bool(np.isclose(loss, -(np.log(0.7) + np.log(0.6)) / 2))
    True
    """

    def __init__(
        self,
        weight: ArrayLike | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = check_int(ignore_index, "ignore_index")

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of log-probabilities ``input`` against class indices ``target``."""
        return nll_loss(
            input,
            target,
            weight=_on_input(self.weight, input),
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


class NLLLoss2d(NLLLoss):
    """Deprecated alias of :class:`NLLLoss`, as in torch (it warns with torch's FutureWarning).

    Parameters
    ----------
    weight, size_average, ignore_index, reduce, reduction
        As :class:`NLLLoss`.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from lossbridge.nn import NLLLoss2d
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     loss = NLLLoss2d()
    >>> [w.category.__name__ for w in caught]
    ['FutureWarning']
    >>> p0 = np.array([[0.9, 0.6], [0.3, 0.5]])  # class 0's probability at each pixel
    >>> log_p = np.log(np.stack([p0, 1 - p0]))[None]  # (N, C, H, W) = (1, 2, 2, 2)
    >>> y = np.array([[[0, 1], [1, 0]]])
    >>> bool(np.isclose(loss(log_p, y), -np.log([0.9, 0.4, 0.7, 0.5]).mean()))
    True
    """

    def __init__(
        self,
        weight: ArrayLike | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        warnings.warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in "
            "replacement and see https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for "
            "more details.",
            FutureWarning,
            stacklevel=_caller_level(),
        )
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class CrossEntropyLoss(_WeightedLoss):
    r"""Cross-entropy of logits against class indices or probabilities (``torch.nn``'s).

    Parameters
    ----------
    weight : array, shape (C,), optional
        A weight per class, of any framework (or NumPy, or a list): converted at each call
        to the input's framework, dtype and device.
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    ignore_index : int, default -100
        Index targets equal to it are left out (of the mean too; NaN when all are).
    reduction : {'mean', 'sum', 'none'}, default 'mean'
    label_smoothing : float in [0, 1], default 0.0

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.cross_entropy`, torch's formula:
    with class weights and label smoothing, torch mixes :math:`(1 - \varepsilon)` times the
    weighted NLL with :math:`\varepsilon / C` times :math:`-\sum_c w_c \log p_c`, both divided
    by :math:`\sum_n w_{y_n}`, which is not Keras's or optax's cross-entropy on smoothed
    targets (see ``docs/porting.md``).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import CrossEntropyLoss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    >>> y = np.array([0, 2, -100])  # the last item is left out (ignore_index=-100)
    >>> log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    >>> loss = CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0]))(x, y)
    >>> bool(np.isclose(loss, -(1 * log_p[0, 0] + 3 * log_p[1, 2]) / (1 + 3)))
    True
    >>> probs = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])  # class probabilities as targets
    >>> print(round(float(CrossEntropyLoss()(x[:2], probs)), 4))
    0.9464
    """

    def __init__(
        self,
        weight: ArrayLike | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = check_int(ignore_index, "ignore_index")
        self.label_smoothing = check_real(
            label_smoothing, "label_smoothing", loss="nn.CrossEntropyLoss", low=0.0, high=1.0
        )

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of logits ``input`` against class indices or probabilities ``target``."""
        return cross_entropy(
            input,
            target,
            weight=_on_input(self.weight, input),
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            denominator=denominator,
            label_smoothing=self.label_smoothing,
        )

    if TYPE_CHECKING:
        __call__ = forward


class KLDivLoss(_Base):
    r"""Kullback-Leibler divergence, :math:`\ell = y (\log y - x)`; ``torch.nn.KLDivLoss``.

    ``input`` is a log-probability, ``target`` a probability (a log-probability with
    ``log_target``).

    Parameters
    ----------
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'batchmean', 'sum', 'none'}, default 'mean'
        ``'mean'`` divides by the number of elements (torch's default, not the divergence);
        ``'batchmean'`` by the batch size (the divergence per item).
    log_target : bool, default False

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.kl_div`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import KLDivLoss
    >>> q = np.array([[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]])  # the model's distributions
    >>> p = np.array([[0.25, 0.5, 0.25], [0.2, 0.3, 0.5]])  # the targets
    >>> kl = (p * np.log(p / q)).sum()
    >>> bool(np.isclose(KLDivLoss(reduction="batchmean")(np.log(q), p), kl / 2))  # per item
    True
    >>> bool(np.isclose(KLDivLoss()(np.log(q), p), kl / 6))  # torch's default: per element
    True
    """

    _reductions = ("none", "batchmean", "mean", "sum")
    reduction: KLDivReduction

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: KLDivReduction = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = _bool(log_target, "log_target")

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The divergence of ``target`` from the log-probabilities ``input``."""
        return kl_div(
            input,
            target,
            reduction=self.reduction,
            denominator=denominator,
            log_target=self.log_target,
        )

    if TYPE_CHECKING:
        __call__ = forward


class BCELoss(_WeightedLoss):
    r"""Binary cross-entropy of probabilities; ``torch.nn.BCELoss``.

    :math:`\ell = -w (y \log x + (1 - y) \log(1 - x))`, each log clamped at -100 as in torch.

    Parameters
    ----------
    weight : array, optional
        Broadcast against ``input`` (a weight per element, row or class); of any framework,
        converted at each call to the input's framework, dtype and device.
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.binary_cross_entropy`. Probabilities of
    exactly 0 and 1 give losses of at most 100, not inf (torch); Keras clips the probability
    to :math:`[10^{-7}, 1 - 10^{-7}]` instead (at most 16.1; see ``docs/porting.md``).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import BCELoss
    >>> p, y = np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 1.0])
    >>> loss = BCELoss(weight=np.array([1.0, 2.0, 1.0]), reduction="sum")
    >>> bool(np.isclose(loss(p, y), -(np.log(0.9) + 2 * np.log(0.8) + np.log(0.6))))
    True
    >>> print(float(BCELoss()(np.array([0.0]), np.array([1.0]))))  # log(0) clamped at -100
    100.0
    """

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of probabilities ``input`` against targets in [0, 1]."""
        return binary_cross_entropy(
            input,
            target,
            weight=_on_input(self.weight, input),
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


class BCEWithLogitsLoss(_Loss):
    r"""Binary cross-entropy of logits; ``torch.nn.BCEWithLogitsLoss``.

    :math:`\ell = -w (p\, y \log \sigma(x) + (1 - y) \log(1 - \sigma(x)))`, computed stably.

    Parameters
    ----------
    weight : array, optional
        Broadcast against ``input``; of any framework, converted at each call.
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
    pos_weight : array, optional
        Weight :math:`p` of the positive term, broadcast along the last (class) axis; of any
        framework, converted at each call.

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.binary_cross_entropy_with_logits`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import BCEWithLogitsLoss
    >>> x = np.array([[2.0, -1.0], [0.5, 0.0]])
    >>> y = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> pos_weight = np.array([1.0, 3.0])  # per class: class 1's positives count 3 times
    >>> log_sigmoid = lambda z: -np.log1p(np.exp(-z))
    >>> expected = -(pos_weight * y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x)).mean()
    >>> bool(np.isclose(BCEWithLogitsLoss(pos_weight=pos_weight)(x, y), expected))
    True
    """

    _weights = ("weight", "pos_weight")
    weight: ArrayLike | None
    pos_weight: ArrayLike | None

    def __init__(
        self,
        weight: ArrayLike | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
        pos_weight: ArrayLike | None = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self._keep_weight("weight", weight)
        self._keep_weight("pos_weight", pos_weight)

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of logits ``input`` against targets in [0, 1]."""
        return binary_cross_entropy_with_logits(
            input,
            target,
            weight=_on_input(self.weight, input),
            reduction=self.reduction,
            denominator=denominator,
            pos_weight=_on_input(self.pos_weight, input),
        )

    if TYPE_CHECKING:
        __call__ = forward


class CTCLoss(_Loss):
    r"""Connectionist temporal classification loss; ``torch.nn.CTCLoss``.

    Parameters
    ----------
    blank : int, default 0
        The blank label.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        ``'mean'`` divides each sequence's loss by its target length, then averages.
    zero_infinity : bool, default False
        Replace infinite losses (infeasible alignments) and their gradients by 0.

    Notes
    -----
    ``forward(log_probs, targets, input_lengths, target_lengths)`` calls
    :func:`lossbridge.ctc_loss`: ``log_probs`` of shape (T, N, C) or (T, C), targets padded
    (N, S) or concatenated.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import CTCLoss
    >>> log_probs = np.log(np.full((3, 1, 3), 1 / 3))  # T=3, batch 1, classes {blank, a, b}
    >>> targets, target_lengths = np.array([[1, 2]]), np.array([2])  # the label "ab"
    >>> loss = CTCLoss()(log_probs, targets, np.array([3]), target_lengths)
    >>> bool(np.isclose(loss, -np.log(5 / 27) / 2))  # aab abb ab_ a_b _ab; 'mean' divides by 2
    True
    """

    def __init__(
        self, blank: int = 0, reduction: Reduction = "mean", zero_infinity: bool = False
    ) -> None:
        super().__init__(reduction=reduction)
        self.blank = check_int(blank, "blank")
        self.zero_infinity = _bool(zero_infinity, "zero_infinity")

    def forward(
        self,
        log_probs: ArrayT,
        targets: ArrayLike,
        input_lengths: ArrayLike,
        target_lengths: ArrayLike,
        *,
        denominator: float | ArrayLike | None = None,
    ) -> ArrayT:
        """The loss of frame log-probabilities against label sequences."""
        return ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            blank=self.blank,
            reduction=self.reduction,
            denominator=denominator,
            zero_infinity=self.zero_infinity,
        )

    if TYPE_CHECKING:
        __call__ = forward


# ------------------------------------------------------------------------------------------
# Margin, ranking and embedding losses
# ------------------------------------------------------------------------------------------


class _MarginLoss(_Loss):
    """A loss with a ``margin`` before the legacy flags."""

    def __init__(
        self,
        margin: float = 0.0,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = check_real(margin, "margin", loss=_public_name(self))


class MarginRankingLoss(_MarginLoss):
    r"""Ranking hinge, :math:`\ell = \max(0, -y (x_1 - x_2) + m)`; ``torch.nn.MarginRankingLoss``.

    Parameters
    ----------
    margin : float, default 0.0
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input1, input2, target)`` calls :func:`lossbridge.margin_ranking_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import MarginRankingLoss
    >>> x1, x2 = np.array([0.8, 0.2]), np.array([0.5, 0.6])
    >>> y = np.array([1, 1])  # x1 should rank higher: max(0, -(x1 - x2) + 0.1)
    >>> np.round(MarginRankingLoss(margin=0.1, reduction="none")(x1, x2, y), 4).tolist()
    [0.0, 0.5]
    """

    def forward(
        self,
        input1: ArrayT,
        input2: ArrayLike,
        target: ArrayLike,
        *,
        denominator: float | ArrayLike | None = None,
    ) -> ArrayT:
        """The loss of the scores ``input1``, ``input2`` and the order ``target`` (+1 or -1)."""
        return margin_ranking_loss(
            input1,
            input2,
            target,
            margin=self.margin,
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


class HingeEmbeddingLoss(_MarginLoss):
    r"""Hinge embedding loss; ``torch.nn.HingeEmbeddingLoss``.

    :math:`\ell = x` where :math:`y = 1`, :math:`\max(0, m - x)` where :math:`y = -1`.

    Parameters
    ----------
    margin : float, default 1.0
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.hinge_embedding_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import HingeEmbeddingLoss
    >>> d = np.array([0.3, 1.2, 2.5])  # distances
    >>> y = np.array([1, -1, -1])  # d where y = 1, max(0, 2 - d) where y = -1
    >>> np.round(HingeEmbeddingLoss(margin=2.0, reduction="none")(d, y), 4).tolist()
    [0.3, 0.8, 0.0]
    """

    def __init__(
        self,
        margin: float = 1.0,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(margin, size_average, reduce, reduction)

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of distances ``input`` against labels ``target`` (+1 or -1)."""
        return hinge_embedding_loss(
            input, target, margin=self.margin, reduction=self.reduction, denominator=denominator
        )

    if TYPE_CHECKING:
        __call__ = forward


class CosineEmbeddingLoss(_MarginLoss):
    r"""Cosine embedding loss; ``torch.nn.CosineEmbeddingLoss``.

    :math:`\ell = 1 - \cos(x_1, x_2)` where :math:`y = 1`, :math:`\max(0, \cos(x_1, x_2) - m)`
    where :math:`y = -1`.

    Parameters
    ----------
    margin : float, default 0.0
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input1, input2, target)`` calls :func:`lossbridge.cosine_embedding_loss`
    (a zero vector has cosine 0, as in torch).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import CosineEmbeddingLoss
    >>> x1 = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> x2 = np.array([[1.0, 1.0], [1.0, 1.0]])  # cos = 1 / sqrt(2) = 0.7071 for both pairs
    >>> loss = CosineEmbeddingLoss(margin=0.5)(x1, x2, np.array([1, -1]))
    >>> print(round(float(loss), 4))  # ((1 - 0.7071) + (0.7071 - 0.5)) / 2
    0.25
    """

    def forward(
        self,
        input1: ArrayT,
        input2: ArrayLike,
        target: ArrayLike,
        *,
        denominator: float | ArrayLike | None = None,
    ) -> ArrayT:
        """The loss of the vector pairs ``input1``, ``input2`` and labels ``target``."""
        return cosine_embedding_loss(
            input1,
            input2,
            target,
            margin=self.margin,
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


class SoftMarginLoss(_Loss):
    r"""Two-class logistic loss, :math:`\ell = \log(1 + e^{-y x})`; ``torch.nn.SoftMarginLoss``.

    Parameters
    ----------
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.soft_margin_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import SoftMarginLoss
    >>> x, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, -1.0, -1.0])
    >>> loss = SoftMarginLoss(reduction="sum")(x, y)
    >>> bool(np.isclose(loss, np.log(1 + np.exp(-y * x)).sum()))
    True
    """

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of scores ``input`` against labels ``target`` (+1 or -1)."""
        return soft_margin_loss(input, target, reduction=self.reduction, denominator=denominator)

    if TYPE_CHECKING:
        __call__ = forward


class MultiLabelMarginLoss(_Loss):
    r"""Multi-class multi-label hinge loss; ``torch.nn.MultiLabelMarginLoss``.

    Parameters
    ----------
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.multilabel_margin_loss`: ``target``
    holds class indices, the labels of an item ending at its first -1.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import MultiLabelMarginLoss
    >>> x = np.array([[0.1, 0.2, 0.4, 0.8], [0.5, 0.0, 0.3, 0.2]])
    >>> y = np.array([[3, 0, -1, 1], [1, -1, 0, 0]])  # labels {3, 0} and {1}; -1 ends a list
    >>> # the 2nd: (1 - (0 - 0.5)) + (1 - (0 - 0.3)) + (1 - (0 - 0.2)) over the 4 classes
    >>> np.round(MultiLabelMarginLoss(reduction="none")(x, y), 4).tolist()
    [0.85, 1.0]
    """

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of scores ``input`` (C,) or (N, C) against label lists ``target``."""
        return multilabel_margin_loss(
            input, target, reduction=self.reduction, denominator=denominator
        )

    if TYPE_CHECKING:
        __call__ = forward


class MultiLabelSoftMarginLoss(_WeightedLoss):
    r"""Multi-label one-versus-all logistic loss; ``torch.nn.MultiLabelSoftMarginLoss``.

    :math:`\ell_n = -\frac1C \sum_c w_c (y_c \log \sigma(x_c) + (1 - y_c) \log \sigma(-x_c))`.

    Parameters
    ----------
    weight : array, optional
        A weight per class (or per element); of any framework, converted at each call.
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.multilabel_soft_margin_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import MultiLabelSoftMarginLoss
    >>> x, y = np.array([[0.5, -1.0, 2.0]]), np.array([[1.0, 0.0, 1.0]])
    >>> w = np.array([1.0, 2.0, 1.0])  # a weight per class
    >>> log_sigmoid = lambda z: -np.log1p(np.exp(-z))
    >>> expected = -(w * (y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))).mean()
    >>> bool(np.isclose(MultiLabelSoftMarginLoss(weight=w)(x, y), expected))
    True
    """

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of logits ``input`` against multi-hot ``target``."""
        return multilabel_soft_margin_loss(
            input,
            target,
            weight=_on_input(self.weight, input),
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


class MultiMarginLoss(_WeightedLoss):
    r"""Multi-class hinge loss (Weston-Watkins); ``torch.nn.MultiMarginLoss``.

    :math:`\ell_n = \frac1C \sum_{i \ne y} w_y \max(0, m - x_y + x_i)^p`.

    Parameters
    ----------
    p : {1, 2}, default 1
    margin : float, default 1.0
    weight : array, shape (C,), optional
        A weight per class; of any framework, converted at each call.
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(input, target)`` calls :func:`lossbridge.multi_margin_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import MultiMarginLoss
    >>> x = np.array([[1.0, 2.0, 0.5]])  # class 0's score should beat the others' by 1
    >>> print(round(float(MultiMarginLoss(p=2)(x, np.array([0]))), 4))  # (2**2 + 0.5**2) / 3
    1.4167
    """

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: ArrayLike | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if isinstance(p, bool) or p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2 (as in torch); got {p!r}")
        if weight is not None and _ndim(weight) != 1:
            shape = getattr(weight, "shape", None)
            got = f"shape {shape_str(shape)}" if shape is not None else f"{_ndim(weight)}-D"
            raise ValueError(
                f"MultiMarginLoss: weight must be None or 1-D (one weight per class); got {got}"
            )
        self.p = int(p)
        self.margin = check_real(margin, "margin", loss="nn.MultiMarginLoss")

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: float | ArrayLike | None = None
    ) -> ArrayT:
        """The loss of scores ``input`` (C,) or (N, C) against class indices ``target``."""
        return multi_margin_loss(
            input,
            target,
            p=self.p,
            margin=self.margin,
            weight=_on_input(self.weight, input),
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


class TripletMarginLoss(_Loss):
    r"""Triplet loss, :math:`\ell = \max(d(a, p) - d(a, n) + m, 0)`; ``torch.nn.TripletMarginLoss``.

    Parameters
    ----------
    margin : float > 0, default 1.0
    p : float, default 2.0
        Order of the pairwise distance's norm.
    eps : float, default 1e-6
        Added to the difference before the norm (torch's ``pairwise_distance``).
    swap : bool, default False
        Use :math:`\min(d(a, n), d(p, n))` as the negative distance (Balntas et al., 2016).
    size_average, reduce : bool, optional
        Deprecated; mapped to ``reduction`` as torch maps them, with torch's warning.
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    ``forward(anchor, positive, negative)`` calls :func:`lossbridge.triplet_margin_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import TripletMarginLoss
    >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[2.5, 0.0]])
    >>> print(round(float(TripletMarginLoss()(a, p, n)), 4))  # max(0, 1 - 2.5 + 1)
    0.0
    >>> print(round(float(TripletMarginLoss(swap=True)(a, p, n)), 4))  # d(p, n) = 1.5 < 2.5
    0.5
    """

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = check_real(
            margin, "margin", loss="nn.TripletMarginLoss", low=0.0, strict=True
        )
        self.p = check_real(p, "p", loss="nn.TripletMarginLoss")
        self.eps = check_real(eps, "eps", loss="nn.TripletMarginLoss")
        self.swap = _bool(swap, "swap")

    def forward(
        self,
        anchor: ArrayT,
        positive: ArrayLike,
        negative: ArrayLike,
        *,
        denominator: float | ArrayLike | None = None,
    ) -> ArrayT:
        """The loss of the triplets (rows of ``anchor``, ``positive``, ``negative``)."""
        return triplet_margin_loss(
            anchor,
            positive,
            negative,
            margin=self.margin,
            p=self.p,
            eps=self.eps,
            swap=self.swap,
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


class TripletMarginWithDistanceLoss(_Loss):
    r"""Triplet loss with a custom distance; ``torch.nn.TripletMarginWithDistanceLoss``.

    Parameters
    ----------
    distance_function : callable, optional
        ``d(x1, x2) -> array`` of distances between rows; default
        :func:`lossbridge.pairwise_distance` (torch's ``PairwiseDistance()``). To run on every
        backend, write it against the array API (or with lossbridge's functions).
    margin : float > 0, default 1.0
    swap : bool, default False
    reduction : {'mean', 'sum', 'none'}, default 'mean'

    Notes
    -----
    Keyword-only, as in torch. ``forward(anchor, positive, negative)`` calls
    :func:`lossbridge.triplet_margin_with_distance_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import TripletMarginWithDistanceLoss
    >>> def cosine_distance(x1, x2):
    ...     norms = np.linalg.norm(x1, axis=-1) * np.linalg.norm(x2, axis=-1)
    ...     return 1 - (x1 * x2).sum(axis=-1) / norms
    >>> loss = TripletMarginWithDistanceLoss(distance_function=cosine_distance)
    >>> a, p, n = np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]]), np.array([[0.0, 1.0]])
    >>> print(round(float(loss(a, p, n)), 4))  # max(0, (1 - cos 45 deg) - (1 - cos 90 deg) + 1)
    0.2929
    """

    def __init__(
        self,
        *,
        distance_function: Callable[[Any, Any], Any] | None = None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(None, None, reduction)
        if distance_function is not None and not callable(distance_function):
            raise TypeError(
                "TripletMarginWithDistanceLoss: distance_function must be callable or None; "
                f"got {distance_function!r}"
            )
        self.distance_function = (
            distance_function if distance_function is not None else pairwise_distance
        )
        self.margin = check_real(
            margin, "margin", loss="nn.TripletMarginWithDistanceLoss", low=0.0, strict=True
        )
        self.swap = _bool(swap, "swap")

    def forward(
        self,
        anchor: ArrayT,
        positive: ArrayLike,
        negative: ArrayLike,
        *,
        denominator: float | ArrayLike | None = None,
    ) -> ArrayT:
        """The loss of the triplets (rows of ``anchor``, ``positive``, ``negative``)."""
        return triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
            denominator=denominator,
        )

    if TYPE_CHECKING:
        __call__ = forward


# ------------------------------------------------------------------------------------------
# Linear cross-entropy: a loss with its own linear layer
# ------------------------------------------------------------------------------------------


class _Linear:
    """The parameters of a linear layer as NumPy arrays (``torch.nn.Linear``'s attributes).

    ``weight`` (out_features, in_features) and ``bias`` (out_features,) or None, drawn as
    ``torch.nn.Linear`` draws them: uniform in :math:`\\pm 1 / \\sqrt{\\text{in\\_features}}`.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool, dtype: Any) -> None:
        import numpy as np

        rng = np.random.default_rng()
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.in_features, self.out_features = in_features, out_features
        self.weight = rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype)
        self.bias = rng.uniform(-bound, bound, out_features).astype(dtype) if bias else None

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


class LinearCrossEntropyLoss(_WeightedLoss):
    r"""Cross-entropy of linearly transformed inputs, with the linear layer (``torch.nn``'s).

    ``torch.nn.LinearCrossEntropyLoss`` (torch 2.13): the constructor creates the linear layer
    ``self.linear`` (``C * prod(out_features)`` outputs, stored flat as torch stores it) and
    :meth:`forward` calls :func:`lossbridge.linear_cross_entropy` with its weight reshaped to
    (C, d1, ..., dK, in_features), so the logits of a large vocabulary need never exist (pass
    ``options``).

    Parameters
    ----------
    in_features : int
        Size of each input sample.
    num_classes : int
        The number of classes C.
    out_features : tuple of int, default ()
        (d1, ..., dK) for a K-dimensional loss.
    bias : bool, default False
        Whether the linear layer has a bias (stored flat, (C * prod(out_features),)).
    device, dtype : optional
        Where and how the layer's parameters are made. While torch is imported (the loss is
        then a ``torch.nn.Module``), ``self.linear`` is a real ``torch.nn.Linear`` submodule,
        with torch's initialisation, trainable ``Parameter``\ s and the ``state_dict`` keys of
        torch's class (``dtype`` may be a torch or NumPy dtype). Otherwise the parameters are
        NumPy arrays of ``dtype`` (float32 by default) drawn as torch draws them; either way
        they are converted at each call to the input's framework (pass JAX or TensorFlow
        parameters to :meth:`forward` to train them there; without torch,
        ``self.linear.weight`` may also be set to a ``tf.Variable``).
    reduction : {'mean', 'sum', 'none'}, default 'mean'
    weight : array, shape (C,), optional
        A weight per class, of any framework: converted at each call to the input's.
    ignore_index : int or None, default None
        None is torch's -100 for class-index targets.
    label_smoothing : float in [0, 1], default 0.0
    options : LinearCrossEntropyOptions or torch.nn.LinearCrossEntropyOptions, optional
        Compute in chunks of rows (see :class:`lossbridge.LinearCrossEntropyOptions`).
    z_loss, softcap : optional
        lossbridge's extensions, keyword-only, off by default (see
        :func:`lossbridge.linear_cross_entropy`).

    Notes
    -----
    Made while torch is imported, the loss is a ``torch.nn.Module`` like torch's: its
    ``state_dict`` keys (``weight`` where given as a tensor, ``linear.weight``,
    ``linear.bias``), ``parameters()`` and ``repr`` are torch's, and a checkpoint of either
    class loads into the other. Without torch, ``self.linear.weight`` / ``self.linear.bias``
    are NumPy arrays and the ``repr`` is torch's ``extra_repr`` line. Invalid arguments raise
    at construction.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.nn import LinearCrossEntropyLoss
    >>> loss = LinearCrossEntropyLoss(4, 10, bias=True)
    >>> tuple(loss.linear.weight.shape), tuple(loss.linear.bias.shape)
    ((10, 4), (10,))

    The layer's parameters may be passed for a call (here 2 features, 3 classes):

    >>> loss = LinearCrossEntropyLoss(2, 3, bias=True)
    >>> W, b = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0.0, 0.5, -0.5])
    >>> x, y = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([2, 0])
    >>> logits = x @ W.T + b
    >>> log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    >>> bool(np.isclose(loss(x, y, linear_weight=W, linear_bias=b), -log_p[[0, 1], y].mean()))
    True
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        out_features: tuple[int, ...] = (),
        bias: bool = False,
        device: Any = None,
        dtype: Any = None,
        reduction: Reduction = "mean",
        weight: ArrayLike | None = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        options: object = None,
        z_loss: float = 0.0,
        softcap: float | None = None,
    ) -> None:
        from lossbridge.linear_ce import _as_options

        name = "nn.LinearCrossEntropyLoss"
        in_features = check_int(in_features, "in_features")
        num_classes = check_int(num_classes, "num_classes")
        if in_features < 0 or num_classes < 1:
            raise ValueError(
                f"{name}: expected in_features >= 0 and num_classes >= 1; got in_features="
                f"{in_features}, num_classes={num_classes}"
            )
        if not isinstance(out_features, (tuple, list)):
            raise TypeError(f"{name}: out_features must be a tuple of ints; got {out_features!r}")
        out_features = tuple(check_int(d, "out_features") for d in out_features)
        if weight is not None and tuple(getattr(weight, "shape", (_len(weight),))) != (
            num_classes,
        ):
            raise ValueError(
                f"{name}: weight has shape {shape_str(getattr(weight, 'shape', (_len(weight),)))}"
                f"; expected ({num_classes},), one weight per class"
            )
        self.label_smoothing = check_real(
            label_smoothing, "label_smoothing", loss=name, low=0.0, high=1.0
        )
        super().__init__(weight, None, None, reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = (
            None if ignore_index is None else check_int(ignore_index, "ignore_index")
        )
        _as_options(options)  # a TypeError now, not at the first call
        self.options = options
        self.z_loss = check_real(z_loss, "z_loss", loss=name)
        self.softcap = None if softcap is None else check_real(softcap, "softcap", loss=name)
        flat = math.prod(out_features, start=num_classes)
        self.linear: Any  # a torch.nn.Linear on a Module, else a _Linear
        if _is_module(self):
            self.linear = _torch_nn.linear_layer(in_features, flat, bias, device, dtype, name)
        else:
            if device is not None and str(device) != "cpu":
                raise ValueError(
                    f"{name}: device={device!r} needs torch, imported before the loss is made"
                    " (NumPy parameters live on the cpu)"
                )
            self.linear = _Linear(in_features, flat, bool(bias), dtype or "float32")

    def forward(
        self,
        input: ArrayT,
        target: ArrayLike,
        *,
        linear_weight: ArrayLike | None = None,
        linear_bias: ArrayLike | None = None,
        denominator: float | ArrayLike | None = None,
    ) -> ArrayT:
        """The loss of ``input`` (N, in_features) or (in_features,) against ``target``.

        ``linear_weight`` (flat, as ``self.linear.weight``) and ``linear_bias``, keyword-only,
        replace the layer's own for this call: a JAX training step passes the parameters it
        differentiates.
        """
        from lossbridge.linear_ce import _as_options, linear_cross_entropy

        w = self.linear.weight if linear_weight is None else linear_weight
        b = self.linear.bias if linear_bias is None else linear_bias
        shape = (self.num_classes, *self.out_features)
        w = _reshape(w, (*shape, self.linear.in_features), input)
        if b is not None:
            b = _reshape(b, shape, input)
        return linear_cross_entropy(
            input,
            w,
            target,
            linear_bias=b,
            weight=_on_input(self.weight, input),
            reduction=self.reduction,
            denominator=denominator,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            options=_as_options(self.options),
            z_loss=self.z_loss,
            softcap=self.softcap,
        )

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        """torch's: the layer's sizes and the loss's settings."""
        return (
            f"in_features={self.linear.in_features},"
            f" num_classes={self.num_classes},"
            f" out_features={self.out_features},"
            f" bias={self.linear.bias is not None},"
            f" reduction={self.reduction},"
            f" ignore_index={self.ignore_index},"
            f" label_smoothing={self.label_smoothing},"
            f" options={self.options}"
        )


def _len(value: Any) -> int:
    return len(value) if hasattr(value, "__len__") else -1


def _reshape(value: Any, shape: tuple[int, ...], input: Any) -> Any:
    """``value`` reshaped; a parameter of another framework than ``input``'s (NumPy, or torch's
    own layer on a JAX call) first goes onto ``input``'s framework and dtype."""
    fw, fw_input = framework_name(value), framework_name(input)
    if fw is None or (fw != fw_input and fw_input is not None):
        value = _on_input(value, input)
    xp = get_namespace(value)[0]
    return xp.reshape(value, shape)


# Every class a public entry: its constructor's and calls' errors read "<ClassName>: ..."
# (lossbridge._validation.name_error); __call__ calls forward, whose entry names both.
name_public_errors(globals(), methods=("__init__", "forward"))

#: The public classes, in ``__all__``'s order (their objects' classes are made together).
_PUBLIC: tuple[type, ...] = tuple(globals()[name] for name in __all__)
_on_base(_PUBLIC[0], _module_base())  # made now (torch imported or not), outside any trace
